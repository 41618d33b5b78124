//! `rem eval`: the evaluation protocol on a run's checkpoint or the random policy.

mod kept;

use std::path::PathBuf;

use anyhow::Result;
use indicatif::ProgressBar;
use rem_agent::config::Device;
use rem_agent::evaluation::{
    evaluate_random_policy, evaluate_run, Episodes, EvalProgress, EvalReport, OnEpisodeEnd,
    RunEvalRequest,
};
use rem_agent::outln;
use rem_agent::run_folder::RunFolder;
use rem_agent::terminal::progress::progress_bar;

use kept::{score_kept_models, KeptRequest};

/// A policy `rem eval` can score without a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EvalPolicy {
    /// Uniformly random actions.
    Random,
}

#[derive(clap::Args)]
pub struct EvalArgs {
    /// The run to evaluate; its eval.json goes there.
    #[arg(long, value_name = "RUN_DIR", required_unless_present = "policy")]
    run: Option<PathBuf>,
    /// `random`: uniformly random actions instead of a checkpoint (needs --game).
    #[arg(long, value_enum, conflicts_with_all = ["run", "checkpoint"], requires = "game")]
    policy: Option<EvalPolicy>,
    /// The game for `--policy random`.
    #[arg(long)]
    game: Option<String>,
    /// Draw `--policy random`'s actions from these only, by name (e.g.
    /// `LEFT,DOWNLEFTFIRE`): how far a fixed preference for some actions goes.
    /// The eval.json then names them, and `rem report` does not take it for the
    /// game's random baseline.
    #[arg(long, value_delimiter = ',', requires = "policy", value_name = "NAMES")]
    actions: Vec<String>,
    /// Seed of the random policy's episodes and actions.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Folder for eval.json. A run's default is the run folder, where eval.json is
    /// its score: only its latest checkpoint at its own temperature may go there.
    /// The random policy's default is `runs/out/random-<game>`, followed by
    /// `-<action>` for each of `--actions`.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Number of episodes (default: the run's eval.final_episodes; 100 for the
    /// random policy).
    #[arg(long)]
    episodes: Option<usize>,
    /// A checkpoint folder (default: the run's latest), e.g. one kept under
    /// RUN_DIR/models/ (needs --out).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Score every model the run kept (RUN_DIR/models/epoch-N, from
    /// `checkpoint.keep_models_every_epochs`) into RUN_DIR/epoch-N/eval.json, or with
    /// another --temperature T than the run's into RUN_DIR/temperature-T/epoch-N/. An epoch
    /// scored already with at least as many episodes is skipped: by an earlier call,
    /// or by the run's own evaluation of that epoch in metrics.jsonl (usually the
    /// final one). Every epoch plays the same episodes: one whose tokenizer and
    /// controller are an earlier epoch's, byte for byte (as before the controller's
    /// first step), takes that evaluation without playing it again.
    /// `rem report --curves` then draws these evaluations, with their 95%
    /// intervals, in place of the run's own evaluations of those epochs.
    #[arg(long, requires = "run", conflicts_with_all = ["checkpoint", "out", "record"])]
    kept: bool,
    /// With --kept: score only these kept epochs (default: every one), e.g. the
    /// controller's epochs on a game whose episodes are long.
    #[arg(long, value_delimiter = ',', value_name = "EPOCHS", requires = "kept")]
    epochs: Vec<usize>,
    /// The policy's sampling temperature (default: the run's eval.temperature;
    /// another needs --out, or --kept).
    #[arg(long, conflicts_with = "policy")]
    temperature: Option<f32>,
    /// Also write the first N episodes as animated PNGs that a web browser plays
    /// (episodes/episode-K.png beside eval.json): the frames the policy chose its
    /// actions on, enlarged 4 times, 15 steps a second. Each is kept in memory until
    /// its episode ends (12 KiB a step).
    #[arg(long, value_name = "N", default_value_t = 0)]
    record: usize,
    #[arg(long, default_value = "cpu")]
    device: Device,
}

pub fn run(args: EvalArgs) -> Result<()> {
    if args.kept {
        let request = KeptRequest {
            run: args
                .run
                .as_deref()
                .expect("clap requires --run with --kept"),
            episodes: args.episodes,
            temperature: args.temperature,
            epochs: &args.epochs,
        };
        return with_backend!(args.device, B => score_kept_models::<B>(
            &request, &Default::default()));
    }
    let bar = progress_bar(0);
    let mut on_episode_end = show_progress(&bar, "eval");
    // The report, and the folder of its eval.json, beside which the recorded episodes go.
    let (report, folder) = match (args.policy, &args.run) {
        (Some(EvalPolicy::Random), _) => score_random_policy(&args, &mut on_episode_end)?,
        (None, Some(run)) => {
            let request = RunEvalRequest {
                checkpoint: args.checkpoint.as_deref(),
                episodes: args.episodes,
                temperature: args.temperature,
                out: args.out.as_deref(),
                record: args.record,
            };
            let report = with_backend!(args.device, B => evaluate_run::<B>(
                run, &request, &Default::default(), &mut on_episode_end))?;
            (report, args.out.clone().unwrap_or_else(|| run.clone()))
        }
        (None, None) => unreachable!("clap requires --run without --policy"),
    };
    bar.finish_and_clear();
    print_report(&report);
    if args.record > 0 {
        let dir = RunFolder::new(folder).episodes_dir();
        outln!("episodes 1-{} recorded in {}", args.record, dir.display());
    }
    Ok(())
}

/// `rem eval --policy random --game G`: its report and the folder it went to
/// (`runs/out/random-<game>[-<action>...]` unless `--out` names one).
fn score_random_policy(
    args: &EvalArgs,
    on_episode_end: OnEpisodeEnd<'_>,
) -> Result<(EvalReport, PathBuf)> {
    let game = args
        .game
        .as_deref()
        .expect("clap requires --game with --policy");
    let name = std::iter::once(game)
        .chain(args.actions.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("-");
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("runs/out/random-{name}")));
    let episodes = Episodes {
        game,
        count: args.episodes.unwrap_or(100),
        seed: args.seed,
    };
    let report =
        evaluate_random_policy(episodes, &args.actions, args.record, &out, on_episode_end)?;
    Ok((report, out))
}

/// Each episode's return, then the mean and what was scored.
fn print_report(report: &EvalReport) {
    for (i, r) in report.returns.iter().enumerate() {
        outln!("episode {:>4}  return {r:>8.2}", i + 1);
    }
    let temperature = report
        .temperature
        .map(|t| format!(", temperature {t}"))
        .unwrap_or_default();
    outln!(
        "{}: mean return {:.2} over {} episodes ({}{temperature})",
        report.game,
        report.mean_return,
        report.episodes,
        report.checkpoint
    );
}

/// A progress bar's update for each ended episode: `label` and the mean return so far.
fn show_progress<'a>(bar: &'a ProgressBar, label: &'a str) -> impl FnMut(EvalProgress) + 'a {
    move |p: EvalProgress| {
        bar.set_length(p.episodes as u64);
        bar.set_position(p.ended as u64);
        let mean = p.mean_return.map(|m| format!(": mean return {m:.2}"));
        bar.set_message(format!("{label}{}", mean.unwrap_or_default()));
    }
}
