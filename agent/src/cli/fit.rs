//! `rem fit`: the learning check of the world-model half on random-policy frames.

use anyhow::Result;
use burn::backend::{Autodiff, Flex};
use rem_agent::outln;

pub fn run(settings: rem_agent::checks::fit::FitSettings) -> Result<()> {
    let report = rem_agent::checks::fit::fit::<Autodiff<Flex>>(&settings, &Default::default())?;
    outln!(
        "reconstruction MSE {:.5} -> {:.5}; world-model token cross-entropy {:.3} -> {:.3} (first vs last 10% of steps)",
        report.reconstruction_first, report.reconstruction_last, report.token_ce_first, report.token_ce_last
    );
    Ok(())
}
