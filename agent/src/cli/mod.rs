//! The `rem` subcommands, one module each: its arguments (clap) and the handler that
//! hands them to the library.

pub mod bench;
pub mod compare;
pub mod dream;
pub mod eval;
pub mod fit;
pub mod play;
pub mod plot;
pub mod ratings;
pub mod report;
pub mod sweep;
pub mod train;

/// Parses a count that must be at least 1 (an `#[arg(value_parser = at_least_one)]`),
/// so that a 0 is refused with the flag's name instead of running to a meaningless
/// result (a mean over no episodes, a time per call over no calls).
pub fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_string()),
        Ok(count) => Ok(count),
        Err(error) => Err(error.to_string()),
    }
}
