//! `AtariEnv`: the wrapper stack of algorithm.md, section 1, in Rust over one emulator
//! in an ALE worker process (`slots.rs`: environments started together share them).
//!
//! Innermost first: every observed raw frame resized to 64x64; a time limit in raw
//! frames; a no-op reset of 1..=noop_max frames; frame skip with the max-pool of the
//! last two frames; in training, a lost life ends the learner's episode while the
//! emulator keeps running (the next reset plays one no-op agent step instead of
//! resetting). Semantics shared with `reference_wrappers.py`:
//! - a skip that stops early at game over observes its last frame alone;
//! - a skip is cut at the time limit, which truncates that step;
//! - after a life-loss end, if the no-op continuation step reaches game over or the
//!   time limit, a real reset follows; its reward is dropped;
//! - `reset(Some(seed))` reseeds the no-op stream and the emulator and always resets
//!   for real.

use super::config::AtariConfig;
use super::games::{AtariGame, ALE_ACTION_NAMES};
use super::resize::{max_pool_into, Resizer};
use super::slots::{start_process, start_shared, Emulator, StartedSlot, WorkerSlot};
use super::worker::StepOutcome;
use crate::env::{ActionSpace, Env, EnvError, EnvResult, Info, Step};
use crate::frame::Frame;
use crate::rng::SplitMix64;

const NOOP: u8 = 0;
/// Real resets retried when the game ends during the no-ops (it practically never does).
const NOOP_RESET_ATTEMPTS: usize = 8;

pub struct AtariEnv {
    cfg: AtariConfig,
    game: AtariGame,
    worker: Option<WorkerSlot>,
    /// The emulator must be loaded with `seed` before the next reset.
    needs_load: bool,
    action_space: ActionSpace,
    resizer: Resizer,
    /// Raw screens from the worker: room for two.
    screens: Vec<u8>,
    /// The resized older frame of a max-pool.
    pooled: Frame,
    seed: u64,
    rng: SplitMix64,
    lives: u32,
    has_lives: bool,
    episode_frame: u64,
    needs_real_reset: bool,
    active: bool,
}

impl AtariEnv {
    /// Starts a worker and loads the game; the first `reset` starts an episode.
    pub fn new(cfg: AtariConfig) -> EnvResult<Self> {
        let mut envs = Self::start_many(vec![cfg], 1)?;
        Ok(envs.remove(0))
    }

    /// Starts one environment per config, their emulators in `processes` worker
    /// processes (see `slots.rs`); each behaves as `AtariEnv::new(cfg)` would.
    pub fn start_many(cfgs: Vec<AtariConfig>, processes: usize) -> EnvResult<Vec<Self>> {
        let mut games = Vec::with_capacity(cfgs.len());
        for cfg in &cfgs {
            cfg.validate()?;
            games.push(AtariGame::find(&cfg.game)?);
        }
        let emulators: Vec<Emulator<'_>> = cfgs
            .iter()
            .zip(&games)
            .map(|(cfg, game)| Emulator {
                rom_id: game.rom_id,
                seed: cfg.seed,
            })
            .collect();
        let started = start_shared(&cfgs, &emulators, processes)?;
        Ok(cfgs
            .into_iter()
            .zip(games)
            .zip(started)
            .map(|((cfg, game), started)| Self::with_worker(cfg, game, started))
            .collect())
    }

    fn with_worker(cfg: AtariConfig, game: AtariGame, started: StartedSlot) -> Self {
        let loaded = &started.game;
        let action_space = ActionSpace::new(loaded.action_ids.iter().map(|&id| {
            ALE_ACTION_NAMES
                .get(id as usize)
                .copied()
                .unwrap_or("UNKNOWN")
        }));
        let resizer = Resizer::new(loaded.height, loaded.width);
        Self {
            screens: vec![0; 2 * resizer.input_bytes()],
            resizer,
            action_space,
            needs_load: !started.loaded,
            worker: Some(started.worker),
            game,
            pooled: Frame::black(),
            seed: cfg.seed,
            rng: SplitMix64::new(cfg.seed),
            lives: 0,
            has_lives: false,
            episode_frame: 0,
            needs_real_reset: true,
            active: false,
            cfg,
        }
    }

    pub fn config(&self) -> &AtariConfig {
        &self.cfg
    }

    /// The worker's process id, while a worker is running.
    pub fn worker_pid(&self) -> Option<u32> {
        self.worker.as_ref().map(WorkerSlot::pid)
    }

    /// Replaces the worker with a fresh one of its own (after a failure, say); the next
    /// call must be `reset`. `reset` also does this by itself when the worker is gone.
    pub fn restart(&mut self) -> EnvResult<()> {
        self.stop_worker();
        self.ensure_worker()
    }

    fn stop_worker(&mut self) {
        self.worker = None;
        self.active = false;
        self.needs_real_reset = true;
    }

    fn ensure_worker(&mut self) -> EnvResult<()> {
        if self.worker.is_none() {
            let emulator = Emulator {
                rom_id: self.game.rom_id,
                seed: self.seed,
            };
            let started = start_process(&self.cfg, &[emulator])?.remove(0);
            let loaded = &started.game;
            if loaded.width * loaded.height * 3 != self.resizer.input_bytes() {
                return Err(EnvError::Backend(
                    "the restarted worker has another screen size".into(),
                ));
            }
            self.worker = Some(started.worker);
            self.needs_load = false;
        }
        Ok(())
    }

    fn worker(&self) -> &WorkerSlot {
        self.worker.as_ref().expect("worker is running")
    }

    /// Repeats an action for up to `max_frames` and builds the observation: the
    /// resized last frame, max-pooled with the resized frame before it if sent.
    fn run(&mut self, action: u8, max_frames: u32, pool: bool) -> EnvResult<(StepOutcome, Frame)> {
        let worker = self.worker.as_ref().expect("worker is running");
        let out = worker.step(action, max_frames, pool, &mut self.screens)?;
        let screen = self.resizer.input_bytes();
        let mut obs = Frame::black();
        let last = &self.screens[(out.screens - 1) * screen..out.screens * screen];
        self.resizer.resize_into(last, obs.as_bytes_mut());
        if out.screens == 2 {
            self.resizer
                .resize_into(&self.screens[..screen], self.pooled.as_bytes_mut());
            max_pool_into(obs.as_bytes_mut(), self.pooled.as_bytes());
        }
        Ok((out, obs))
    }

    /// Raw frames of the next skip: `frame_skip`, cut at the time limit.
    fn skip_frames(&self) -> u32 {
        let left = self
            .cfg
            .time_limit_frames
            .saturating_sub(self.episode_frame);
        left.min(self.cfg.frame_skip as u64) as u32
    }

    fn real_reset(&mut self) -> EnvResult<Frame> {
        let noops = self.rng.one_to(self.cfg.noop_max);
        for _ in 0..NOOP_RESET_ATTEMPTS {
            self.worker().reset()?;
            self.episode_frame = 0;
            let (out, obs) = self.run(NOOP, noops, false)?;
            self.episode_frame += out.frames as u64;
            if !out.game_over {
                self.lives = out.lives;
                self.has_lives = out.lives > 0;
                return Ok(obs);
            }
        }
        Err(EnvError::Backend(format!(
            "{} ended during every no-op reset",
            self.game.name
        )))
    }

    fn reset_inner(&mut self, seed: Option<u64>) -> EnvResult<Frame> {
        let mut real = self.needs_real_reset;
        if let Some(seed) = seed {
            self.seed = seed;
            self.rng = SplitMix64::new(seed);
            // Reseeding the emulator means loading its ROM again (a fresh worker
            // loads it with this seed).
            self.needs_load = true;
            real = true;
        }
        self.ensure_worker()?;
        if self.needs_load {
            self.worker().load(self.game.rom_id, self.seed)?;
            self.needs_load = false;
        }
        if real {
            return self.real_reset();
        }
        // After a life-loss end the game goes on with one no-op agent step.
        let (out, obs) = self.run(NOOP, self.skip_frames(), true)?;
        self.episode_frame += out.frames as u64;
        self.lives = out.lives;
        if out.game_over || self.episode_frame >= self.cfg.time_limit_frames {
            return self.real_reset();
        }
        Ok(obs)
    }

    fn step_inner(&mut self, action: usize) -> EnvResult<Step> {
        let (out, obs) = self.run(action as u8, self.skip_frames(), true)?;
        self.episode_frame += out.frames as u64;
        let life_lost = self.has_lives && out.lives < self.lives;
        self.lives = out.lives;
        let truncated = self.episode_frame >= self.cfg.time_limit_frames;
        let terminated =
            out.game_over || (self.cfg.life_loss_ends_episode && life_lost && out.lives > 0);
        if terminated || truncated {
            self.active = false;
            self.needs_real_reset = out.game_over || truncated;
        }
        Ok(Step {
            obs,
            reward: out.reward as f32,
            terminated,
            truncated,
            info: self.info(life_lost),
        })
    }

    fn info(&self, life_lost: bool) -> Info {
        Info {
            lives: self.has_lives.then_some(self.lives),
            life_lost,
            episode_frame: self.episode_frame,
        }
    }
}

impl Env for AtariEnv {
    fn action_space(&self) -> &ActionSpace {
        &self.action_space
    }

    fn reset(&mut self, seed: Option<u64>) -> EnvResult<(Frame, Info)> {
        match self.reset_inner(seed) {
            Ok(obs) => {
                self.needs_real_reset = false;
                self.active = true;
                Ok((obs, self.info(false)))
            }
            Err(e) => {
                self.stop_worker();
                Err(e)
            }
        }
    }

    fn step(&mut self, action: usize) -> EnvResult<Step> {
        if !self.active {
            return Err(EnvError::NeedsReset);
        }
        self.action_space.check(action)?;
        self.step_inner(action).inspect_err(|_| self.stop_worker())
    }

    fn name(&self) -> &str {
        self.game.name
    }
}
