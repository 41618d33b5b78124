//! Worker processes shared by several environments.
//!
//! Every `AtariEnv` owns one emulator: a slot in an ALE worker process. Environments
//! started together (an evaluation's 100 episodes) share a few processes, one per
//! core, instead of starting a Python each: a worker costs about half a second of
//! CPU and 40 MB to start, an emulator in it under 1 MB. An environment's emulator,
//! seeds and frames are its own, so it behaves exactly as with a process of its own;
//! the environments of one process take turns on its pipe.
//!
//! Loading a ROM costs about a quarter of a second, and the first reset of a pool
//! (`EnvPool::reset_all`) reseeds every emulator, which loads it again. So a process
//! loads only the first emulator of each ROM, which tells the screen size and action
//! set of them all; the others load at their environment's first reset.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;

use super::config::AtariConfig;
use super::rng::ale_seed;
use super::worker::{AleWorker, LoadedGame, StepOutcome};
use crate::env::EnvResult;

/// The protocol names a slot with one byte.
const SLOTS_PER_PROCESS: usize = 256;

/// One environment's emulator: a slot in a worker process that others may share.
pub(super) struct WorkerSlot {
    process: Arc<Mutex<AleWorker>>,
    slot: u8,
    pid: u32,
}

impl WorkerSlot {
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Loads (or reloads, which reseeds) the ROM into this slot.
    pub fn load(&self, rom_id: &str, seed: u64) -> EnvResult<LoadedGame> {
        self.worker().load(self.slot, rom_id, ale_seed(seed))
    }

    /// Resets this slot's game; returns the lives.
    pub fn reset(&self) -> EnvResult<u32> {
        self.worker().reset(self.slot)
    }

    /// `AleWorker::step` on this slot's game.
    pub fn step(
        &self,
        action: u8,
        max_frames: u32,
        previous_screen: bool,
        screens: &mut [u8],
    ) -> EnvResult<StepOutcome> {
        self.worker()
            .step(self.slot, action, max_frames, previous_screen, screens)
    }

    fn worker(&self) -> MutexGuard<'_, AleWorker> {
        // A panic of another environment mid-call leaves the pipe out of step; the
        // next read then fails or times out with a clear error, so go on.
        self.process.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What an environment starts with: its slot, its game as loaded, and whether its own
/// emulator is loaded yet.
pub(super) struct StartedSlot {
    pub worker: WorkerSlot,
    pub game: LoadedGame,
    pub loaded: bool,
}

/// One emulator to start: its ROM and its environment's seed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Emulator<'a> {
    pub rom_id: &'a str,
    pub seed: u64,
}

/// Starts one worker process (Python and reply timeout from `cfg`) for `emulators`,
/// in slots 0, 1, ... in order; only the first emulator of each ROM is loaded.
pub(super) fn start_process(
    cfg: &AtariConfig,
    emulators: &[Emulator<'_>],
) -> EnvResult<Vec<StartedSlot>> {
    assert!(emulators.len() <= SLOTS_PER_PROCESS, "too many slots");
    let mut worker = AleWorker::spawn(&cfg.python_command(), cfg.reply_timeout)?;
    let pid = worker.pid();
    let mut games: Vec<(&str, LoadedGame)> = Vec::new();
    let mut started = Vec::with_capacity(emulators.len());
    for (slot, emulator) in emulators.iter().enumerate() {
        let known = games.iter().find(|(rom, _)| *rom == emulator.rom_id);
        let (game, loaded) = match known {
            Some((_, game)) => (game.clone(), false),
            None => {
                let game = worker.load(slot as u8, emulator.rom_id, ale_seed(emulator.seed))?;
                games.push((emulator.rom_id, game.clone()));
                (game, true)
            }
        };
        started.push((slot as u8, game, loaded));
    }
    let process = Arc::new(Mutex::new(worker));
    Ok(started
        .into_iter()
        .map(|(slot, game, loaded)| {
            let process = Arc::clone(&process);
            let worker = WorkerSlot { process, slot, pid };
            StartedSlot {
                worker,
                game,
                loaded,
            }
        })
        .collect())
}

/// Starts `emulators` on `processes` worker processes at once (more where one would
/// hold over 256, fewer where there are fewer emulators), dealt out in turn; the
/// result is in `emulators`' order. `cfgs[i]` is emulator i's environment's config.
pub(super) fn start_shared(
    cfgs: &[AtariConfig],
    emulators: &[Emulator<'_>],
    processes: usize,
) -> EnvResult<Vec<StartedSlot>> {
    let n = emulators.len();
    let processes = processes.max(n.div_ceil(SLOTS_PER_PROCESS)).min(n);
    let started = thread::scope(|scope| {
        let starts: Vec<_> = (0..processes)
            .map(|p| {
                let members: Vec<Emulator<'_>> = emulators
                    .iter()
                    .copied()
                    .skip(p)
                    .step_by(processes)
                    .collect();
                scope.spawn(move || start_process(&cfgs[p], &members))
            })
            .collect();
        starts
            .into_iter()
            .map(|start| start.join().expect("starting an Atari worker panicked"))
            .collect::<EnvResult<Vec<_>>>()
    })?;
    // Process p holds emulators p, p + processes, ...: take them back in turn.
    let mut per_process: Vec<_> = started.into_iter().map(Vec::into_iter).collect();
    Ok((0..n)
        .map(|i| {
            per_process[i % processes]
                .next()
                .expect("one slot per emulator")
        })
        .collect())
}
