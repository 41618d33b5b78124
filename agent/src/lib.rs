//! rem-agent: the REM agent on top of `rem-envs` and `rem-worldmodel`, and the `rem`
//! command line (`main.rs`, with one module per subcommand in `cli/`). Docs of the
//! algorithm: `docs/algorithm.md`.
//!
//! - The agent: `models` (the three parts and their sizes), `actor_critic` (the
//!   controller, its losses and sampling), `returns` (lambda-returns), `rollout`
//!   (imagined rollouts), `actor_critic_trainer`, `batches` (segments to tensors).
//! - Training: `trainer` (the epoch loop) over `learner` (one step of each part),
//!   `collect` (acting in the real games), `evaluate`, `metrics` (one line per epoch),
//!   `run_folder` (every file of a run, checkpoints) over `checkpoint_file` (their
//!   format), `config` (run configurations), `interrupt` (stopping cleanly on a
//!   signal).
//! - Many runs: `sweep` (games x seeds, on this machine or as a Slurm job array).
//! - Looking at runs: `report`, `plot`, `dream`, `images`, `recording` (evaluation
//!   episodes as animations), `progress`, `output` (stdout
//!   that outlives its reader), `foresight` (the world model's forecast of real
//!   episodes, teacher-forced and imagined) scored by `reward_scores` and
//!   `frame_scores`.
//! - Checks and speed: `fit`, `play`, `bench`.

pub mod actor_critic;
pub mod actor_critic_trainer;
pub mod allocator;
pub mod batches;
pub mod bench;
pub mod checkpoint_file;
pub mod collect;
pub mod config;
pub mod dream;
pub mod evaluate;
pub mod fit;
pub mod foresight;
pub mod frame_scores;
pub mod images;
pub mod interrupt;
pub mod learner;
pub mod metrics;
pub mod models;
pub mod output;
pub mod play;
pub mod plot;
pub mod progress;
pub mod recording;
pub mod report;
pub mod returns;
pub mod reward_scores;
pub mod rollout;
pub mod run_folder;
pub mod sweep;
pub mod trainer;
