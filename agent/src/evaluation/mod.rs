//! Evaluation with the protocol of algorithm.md, section 6: `episodes` plays them (the
//! trainer's periodic evaluations and `rem eval`'s), `eval_file` is `rem eval`'s
//! command, a run's checkpoint or the random policy written to eval.json.

pub mod episodes;
pub mod eval_file;

pub use episodes::{evaluate, evaluate_random, Episodes, EvalProgress, EvalStats, OnEpisodeEnd};
pub use eval_file::{
    evaluate_random_policy, evaluate_run, is_random_over_some_actions, read_report, write_report,
    EvalReport, RunEvalRequest, RANDOM_POLICY,
};
