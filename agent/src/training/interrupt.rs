//! Stopping a run cleanly on request. SIGTERM (Slurm's warning before preemption or
//! the time limit, `sbatch --signal`) or Ctrl-C asks a run to finish its current
//! epoch, write a checkpoint and exit; `rem train --resume` then continues it with
//! nothing lost. A second Ctrl-C ends the process at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use signal_hook::consts::{SIGINT, SIGTERM};

/// Exit status of a run that stopped on request with its checkpoint written:
/// EX_TEMPFAIL of sysexits.h, "try again later". A Slurm task requeues itself on it.
pub const STOPPED_EXIT_CODE: i32 = 75;

/// Whether a stop was asked for; cheap to check between epochs.
#[derive(Debug, Clone, Default)]
pub struct StopRequest(Arc<AtomicBool>);

impl StopRequest {
    /// A request that only [`StopRequest::ask`] sets.
    pub fn new() -> Self {
        Self::default()
    }

    /// A request set by SIGTERM or SIGINT from now on. While it is set, a further
    /// SIGINT exits the process at once (status 130).
    pub fn on_signals() -> Result<Self> {
        let request = Self::new();
        let flag = &request.0;
        // Registered first, so it sees the flag as it was before this signal.
        signal_hook::flag::register_conditional_shutdown(SIGINT, 130, Arc::clone(flag))
            .context("cannot handle SIGINT")?;
        for signal in [SIGTERM, SIGINT] {
            signal_hook::flag::register(signal, Arc::clone(flag))
                .with_context(|| format!("cannot handle signal {signal}"))?;
        }
        Ok(request)
    }

    pub fn ask(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_asked(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The error of a run that stopped on request: its checkpoint is written, and
/// `rem train --resume` continues it. `rem` exits with [`STOPPED_EXIT_CODE`] on it.
#[derive(Debug)]
pub struct RunStopped {
    pub epoch: usize,
    pub run_dir: std::path::PathBuf,
}

impl std::fmt::Display for RunStopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the run stopped on request after epoch {} with its checkpoint written; \
             continue it with `rem train --resume {}`",
            self.epoch,
            self.run_dir.display()
        )
    }
}

impl std::error::Error for RunStopped {}
