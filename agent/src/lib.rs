//! rem-agent: the REM agent on top of `rem-envs` and `rem-worldmodel`, and the `rem`
//! command line (`main.rs`, with one module per subcommand in `cli/`). Docs of the
//! algorithm: `docs/algorithm.md`.
//!
//! ```text
//! the agent       config          run configurations (TOML, the spec's defaults)
//!                 models          the three learned parts and their sizes
//!                 actor_critic/   the controller, its losses and sampling
//!                 imagination/    rollouts in the world model, lambda-returns,
//!                                 the actor-critic's optimisation step
//!                 batches         sampled segments to tensors
//!                 learner         one optimisation step of each part
//! the run loop    training/       the epoch loop; collect, metrics, interrupt
//!                                 (stopping cleanly on a signal)
//!                 evaluation/     the evaluation protocol's episodes, and
//!                                 `rem eval`'s eval.json
//!                 run_folder/     every file of a run; checkpoints and their format
//!                 provenance      the code, machine and command behind a result
//! many runs       sweep/          games x seeds, here or as a Slurm job array
//! looking at runs report/         scores, intervals, tables and charts over runs;
//!                                 two sets of runs compared (`rem compare`)
//!                 foresight/      the world model's forecast of real episodes,
//!                                 scored by reward and by frame
//!                 dream/          imagined rollouts decoded to a picture; a
//!                                 run's kept controllers rated by its world models
//!                 figures/        PNG frames, animated episodes, SVG plots
//!                 terminal/       progress bars, stdout that outlives its reader
//! checks, speed   checks/         `rem fit`, `rem play`
//!                 bench/          imagination and training-phase benchmarks
//!                 allocator       the process's allocator settings
//! ```

pub mod actor_critic;
pub mod allocator;
pub mod batches;
pub mod bench;
pub mod checks;
pub mod config;
pub mod dream;
pub mod evaluation;
pub mod figures;
pub mod foresight;
pub mod imagination;
pub mod learner;
pub mod models;
pub mod provenance;
pub mod report;
pub mod run_folder;
pub mod sweep;
pub mod terminal;
pub mod training;
