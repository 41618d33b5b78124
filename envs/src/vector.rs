//! Vectorised collection: one std thread per environment, driven by commands over
//! crossbeam channels.
//!
//! * `step` sends every worker its action, then waits for all answers; `step_only`
//!   does the same for some workers while the others wait. A finished environment is
//!   reset by its worker right away (with `reset(None)`, continuing the random stream
//!   seeded by `reset_all`), and its `PoolStep` carries both the terminal observation
//!   and the next episode's first one.
//! * Once `record_events` is called, each step's transitions go into a channel of
//!   `PoolEvent`s towards the episode store, in environment order after all answers
//!   arrived, so that the store's contents depend only on the pool seed and the
//!   actions, not on thread timing. A pool that nobody records (evaluation, or a
//!   replay) keeps nothing.
//! * An environment's error comes back as that `EnvError`; the environment then
//!   needs `reset_all` before it steps again. A worker that panicked, vanished, or
//!   did not answer within the reply timeout is dead: every later call returns
//!   `EnvError::Backend` naming it, instead of hanging or panicking.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender};

use crate::env::{ActionSpace, Env, EnvError, EnvResult, Info, Step};
use crate::frame::Frame;
use crate::rng::mix_seed;
use crate::store::{EpisodeStore, Transition};

/// How long `step`/`reset_all` wait for a worker before declaring it dead.
pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// One environment's result of `EnvPool::step`.
#[derive(Debug, Clone)]
pub struct PoolStep {
    /// The step as the environment returned it (with the terminal observation).
    pub step: Step,
    /// The first observation of the next episode, when this step ended one.
    pub reset: Option<(Frame, Info)>,
}

impl PoolStep {
    /// The observation the next action for this environment is taken in.
    pub fn next_obs(&self) -> &Frame {
        self.reset
            .as_ref()
            .map_or(&self.step.obs, |(frame, _)| frame)
    }
}

/// What the pool sends towards the episode store.
#[derive(Debug, Clone)]
pub enum PoolEvent {
    /// A real step of environment `env_id`.
    Transition {
        env_id: usize,
        transition: Transition,
    },
    /// Environment `env_id` was reset in the middle of an episode (by `reset_all`);
    /// its episode in progress ends there.
    EpisodeAborted { env_id: usize },
}

impl PoolEvent {
    pub fn apply_to(self, store: &mut EpisodeStore) {
        match self {
            PoolEvent::Transition { env_id, transition } => store.push(env_id, transition),
            PoolEvent::EpisodeAborted { env_id } => store.close_episode(env_id),
        }
    }
}

enum Command {
    Reset(Option<u64>),
    Step(usize),
}

enum Reply {
    Reset(Frame),
    Step(PoolStep),
}

/// A worker's answer to one command.
enum Answer {
    Done(EnvResult<Reply>),
    /// The environment panicked; the worker thread has exited.
    Panicked(String),
}

struct EnvThread {
    name: String,
    actions: ActionSpace,
    commands: Sender<Command>,
    answers: Receiver<Answer>,
    handle: Option<JoinHandle<()>>,
    /// Why the worker can no longer be used, once it cannot.
    dead: Option<String>,
    /// Set when the worker timed out: its thread may still be busy, so it is not joined.
    stuck: bool,
}

impl EnvThread {
    fn spawn(index: usize, env: Box<dyn Env>) -> Self {
        let (name, actions) = (env.name().to_string(), env.action_space().clone());
        let (commands, command_rx) = unbounded();
        let (answer_tx, answers) = unbounded();
        let handle = std::thread::Builder::new()
            .name(format!("env-worker-{index}"))
            .spawn(move || serve(env, command_rx, answer_tx))
            .expect("spawning an environment worker thread");
        Self {
            name,
            actions,
            commands,
            answers,
            handle: Some(handle),
            dead: None,
            stuck: false,
        }
    }

    fn send(&mut self, index: usize, command: Command) -> EnvResult<()> {
        self.check_alive(index)?;
        if self.commands.send(command).is_err() {
            return Err(self.fail(index, "its thread has exited".into()));
        }
        Ok(())
    }

    fn receive(&mut self, index: usize, timeout: Duration) -> EnvResult<Reply> {
        self.check_alive(index)?;
        match self.answers.recv_timeout(timeout) {
            Ok(Answer::Done(result)) => result,
            Ok(Answer::Panicked(message)) => Err(self.fail(index, format!("panicked: {message}"))),
            Err(RecvTimeoutError::Timeout) => {
                self.stuck = true;
                Err(self.fail(index, format!("no answer within {timeout:?}")))
            }
            Err(RecvTimeoutError::Disconnected) => {
                Err(self.fail(index, "its thread has exited".into()))
            }
        }
    }

    /// Marks the worker unusable and returns the error describing why.
    fn fail(&mut self, index: usize, why: String) -> EnvError {
        self.dead = Some(why);
        self.check_alive(index).expect_err("just marked dead")
    }

    fn check_alive(&self, index: usize) -> EnvResult<()> {
        match &self.dead {
            None => Ok(()),
            Some(why) => Err(EnvError::Backend(format!(
                "env worker {index} ({}) died: {why}",
                self.name
            ))),
        }
    }
}

/// The worker thread: runs commands until the pool drops its sender or the
/// environment panics.
fn serve(mut env: Box<dyn Env>, commands: Receiver<Command>, answers: Sender<Answer>) {
    for command in commands.iter() {
        let answer = match catch_unwind(AssertUnwindSafe(|| execute(env.as_mut(), command))) {
            Ok(result) => Answer::Done(result),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                let _ = answers.send(Answer::Panicked(message));
                return;
            }
        };
        if answers.send(answer).is_err() {
            return;
        }
    }
}

fn execute(env: &mut dyn Env, command: Command) -> EnvResult<Reply> {
    match command {
        Command::Reset(seed) => env.reset(seed).map(|(frame, _)| Reply::Reset(frame)),
        Command::Step(action) => {
            let step = env.step(action)?;
            let reset = if step.done() {
                Some(env.reset(None)?)
            } else {
                None
            };
            Ok(Reply::Step(PoolStep { step, reset }))
        }
    }
}

/// N environments stepped in lockstep on worker threads.
pub struct EnvPool {
    workers: Vec<EnvThread>,
    seed: u64,
    resets: u64,
    reply_timeout: Duration,
    /// The observation each environment's next action is taken in; `None` until
    /// reset, and again after the environment failed.
    observations: Vec<Option<Frame>>,
    /// Steps into each environment's current episode.
    episode_steps: Vec<u64>,
    /// Where transitions go, once somebody records them.
    sink: Option<Sender<PoolEvent>>,
}

/// The store's end of a pool's events (see [`EnvPool::record_events`]).
pub struct PoolEvents(Receiver<PoolEvent>);

impl PoolEvents {
    /// Applies every pending event to `store`; returns how many transitions it pushed.
    pub fn drain_into(&self, store: &mut EpisodeStore) -> usize {
        let mut pushed = 0;
        for event in self.0.try_iter() {
            pushed += matches!(event, PoolEvent::Transition { .. }) as usize;
            event.apply_to(store);
        }
        pushed
    }

    /// The pending events, in the order they happened.
    pub fn pending(&self) -> Vec<PoolEvent> {
        self.0.try_iter().collect()
    }
}

impl EnvPool {
    /// Starts one worker thread per environment. Seeds of every episode derive
    /// from `seed`.
    pub fn new(envs: Vec<Box<dyn Env>>, seed: u64) -> Self {
        let n = envs.len();
        let workers = envs
            .into_iter()
            .enumerate()
            .map(|(i, env)| EnvThread::spawn(i, env))
            .collect();
        Self {
            workers,
            seed,
            resets: 0,
            reply_timeout: DEFAULT_REPLY_TIMEOUT,
            observations: vec![None; n],
            episode_steps: vec![0; n],
            sink: None,
        }
    }

    /// From now on, sends every transition and aborted episode to the returned end
    /// (unbounded: drain it after every step). A second call replaces the first end.
    pub fn record_events(&mut self) -> PoolEvents {
        let (sink, events) = unbounded();
        self.sink = Some(sink);
        PoolEvents(events)
    }

    /// Sends nothing more to the recording end.
    pub fn stop_recording(&mut self) {
        self.sink = None;
    }

    fn send(&self, event: PoolEvent) {
        if let Some(sink) = &self.sink {
            // A dropped receiving end means nobody records any more.
            let _ = sink.send(event);
        }
    }

    /// Sets how long to wait for a worker's answer before declaring it dead.
    pub fn with_reply_timeout(mut self, timeout: Duration) -> Self {
        self.reply_timeout = timeout;
        self
    }

    pub fn num_envs(&self) -> usize {
        self.workers.len()
    }

    pub fn action_space(&self, env_id: usize) -> &ActionSpace {
        &self.workers[env_id].actions
    }

    pub fn env_name(&self, env_id: usize) -> &str {
        &self.workers[env_id].name
    }

    /// The observation environment `env_id`'s next action is taken in.
    pub fn observation(&self, env_id: usize) -> Option<&Frame> {
        self.observations[env_id].as_ref()
    }

    /// Resets every environment with a seed derived from the pool seed, the worker
    /// index and how many times `reset_all` ran before. Episodes cut short here are
    /// reported as `PoolEvent::EpisodeAborted`.
    pub fn reset_all(&mut self) -> EnvResult<Vec<Frame>> {
        for (i, worker) in self.workers.iter().enumerate() {
            worker.check_alive(i)?;
        }
        let round_seed = mix_seed(self.seed, self.resets);
        self.resets += 1;
        let mut aborted = Vec::new();
        for (i, steps) in self.episode_steps.iter_mut().enumerate() {
            if *steps > 0 {
                aborted.push(i);
            }
            *steps = 0;
        }
        for env_id in aborted {
            self.send(PoolEvent::EpisodeAborted { env_id });
        }
        self.observations.iter_mut().for_each(|obs| *obs = None);

        let mut first_error = None;
        for (i, worker) in self.workers.iter_mut().enumerate() {
            if let Err(e) = worker.send(i, Command::Reset(Some(mix_seed(round_seed, i as u64)))) {
                first_error.get_or_insert(e);
            }
        }
        for (i, worker) in self.workers.iter_mut().enumerate() {
            if worker.dead.is_some() {
                continue;
            }
            match worker.receive(i, self.reply_timeout) {
                Ok(Reply::Reset(frame)) => self.observations[i] = Some(frame),
                Ok(Reply::Step(_)) => unreachable!("a reset is answered with a reset"),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(self
                .observations
                .iter()
                .map(|o| o.clone().expect("reset"))
                .collect()),
        }
    }

    /// Steps every environment with its action (one per environment). Finished
    /// environments are reset automatically. Transitions go to the recording end,
    /// if there is one.
    pub fn step(&mut self, actions: &[usize]) -> EnvResult<Vec<PoolStep>> {
        if actions.len() != self.workers.len() {
            return Err(EnvError::Backend(format!(
                "expected {} actions (one per environment), got {}",
                self.workers.len(),
                actions.len()
            )));
        }
        let all: Vec<usize> = (0..self.workers.len()).collect();
        self.step_only(&all, actions)
    }

    /// Steps the environments `env_ids` (ascending, each below `num_envs`) with
    /// `actions`, one each, as [`Self::step`] does; the others wait where they are.
    /// The results are in `env_ids`' order. An evaluation steps only its unfinished
    /// episodes this way.
    pub fn step_only(&mut self, env_ids: &[usize], actions: &[usize]) -> EnvResult<Vec<PoolStep>> {
        self.check_step(env_ids, actions)?;
        let mut first_error = None;
        for (&i, &action) in env_ids.iter().zip(actions) {
            if let Err(e) = self.workers[i].send(i, Command::Step(action)) {
                first_error.get_or_insert(e);
            }
        }
        let mut results = Vec::with_capacity(env_ids.len());
        for &i in env_ids {
            let worker = &mut self.workers[i];
            let reply = if worker.dead.is_some() {
                None
            } else {
                Some(worker.receive(i, self.reply_timeout))
            };
            match reply {
                Some(Ok(Reply::Step(result))) => results.push(Some(result)),
                Some(Ok(Reply::Reset(_))) => unreachable!("a step is answered with a step"),
                Some(Err(e)) => {
                    first_error.get_or_insert(e);
                    results.push(None);
                }
                None => results.push(None),
            }
        }

        // Record in environment order so that the store does not depend on timing.
        for ((&i, &action), result) in env_ids.iter().zip(actions).zip(&results) {
            let Some(result) = result else {
                self.observations[i] = None;
                continue;
            };
            let obs = self.observations[i]
                .replace(result.next_obs().clone())
                .expect("checked above");
            let transition = Transition::new(obs, action, &result.step);
            self.send(PoolEvent::Transition {
                env_id: i,
                transition,
            });
            self.episode_steps[i] = if result.step.done() {
                0
            } else {
                self.episode_steps[i] + 1
            };
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(results.into_iter().map(|r| r.expect("no error")).collect()),
        }
    }

    /// Whether `env_ids` may step with `actions`: as many actions as ids, the ids
    /// ascending and in range, each environment alive, reset, and given a valid action.
    fn check_step(&self, env_ids: &[usize], actions: &[usize]) -> EnvResult<()> {
        if actions.len() != env_ids.len() {
            return Err(EnvError::Backend(format!(
                "expected {} actions (one per stepped environment), got {}",
                env_ids.len(),
                actions.len()
            )));
        }
        let n = self.workers.len();
        if !env_ids.windows(2).all(|pair| pair[0] < pair[1]) || env_ids.iter().any(|&i| i >= n) {
            return Err(EnvError::Backend(format!(
                "environments to step must be ascending and below {n}, got {env_ids:?}"
            )));
        }
        for (&i, &action) in env_ids.iter().zip(actions) {
            let worker = &self.workers[i];
            worker.check_alive(i)?;
            if self.observations[i].is_none() {
                return Err(EnvError::NeedsReset);
            }
            worker.actions.check(action)?;
        }
        Ok(())
    }
}

impl Drop for EnvPool {
    fn drop(&mut self) {
        let handles: Vec<JoinHandle<()>> = self
            .workers
            .iter_mut()
            .filter(|w| !w.stuck)
            .filter_map(|w| w.handle.take())
            .collect();
        // Dropping the command senders ends the worker loops.
        self.workers.clear();
        for handle in handles {
            let _ = handle.join();
        }
    }
}
