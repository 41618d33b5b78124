//! One ALE worker process (`ale_worker.py` under Python) and its pipe protocol. The
//! process holds one emulator per slot; every call names its slot.

use std::io::{self, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::protocol::{
    Reply, Request, HEADER_BYTES, HELLO_MAGIC, PROTOCOL_VERSION, STATUS_MISSING_ALE, STATUS_OK,
};
use super::watchdog::Watchdog;
use crate::env::{EnvError, EnvResult};

/// The worker script, run with `python -c`.
const WORKER_SCRIPT: &str = include_str!("ale_worker.py");
pub const ALE_PY_REQUIREMENT: &str = "ale-py==0.12.1";
/// Starting Python, importing ale-py and loading a ROM can take seconds on a busy
/// machine, so these replies get at least this long whatever the step timeout is.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How much of the worker's stderr is kept for error messages.
const STDERR_TAIL_BYTES: usize = 2000;

/// What the worker reports after loading a ROM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedGame {
    pub width: usize,
    pub height: usize,
    /// ALE action ids of the minimal action set.
    pub action_ids: Vec<u8>,
    pub lives: u32,
}

/// The outcome of a `STEP` command; its screens are in the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepOutcome {
    pub reward: i32,
    pub lives: u32,
    pub game_over: bool,
    pub frames: u32,
    pub screens: usize,
}

pub struct AleWorker {
    child: Arc<Mutex<Child>>,
    pid: u32,
    stdin: ChildStdin,
    stdout: ChildStdout,
    watchdog: Watchdog,
    stderr_tail: Arc<Mutex<Vec<u8>>>,
    stderr_thread: Option<JoinHandle<()>>,
    python: String,
    timeout: Duration,
    /// The wait allowed for the read in progress, for the timeout message.
    armed: Duration,
    /// Bytes of one raw screen, by slot (0 for a slot with no game loaded).
    screen_bytes: Vec<usize>,
}

impl AleWorker {
    /// Starts a worker and waits for its hello.
    pub fn spawn(python: &Path, timeout: Duration) -> EnvResult<Self> {
        let python_name = python.display().to_string();
        let mut child = Command::new(python)
            .arg("-c")
            .arg(WORKER_SCRIPT)
            // numpy's OpenBLAS starts a spinning thread per core and the worker does no
            // linear algebra: those threads took 1.4% of an evaluation's CPU samples.
            .env("OPENBLAS_NUM_THREADS", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| spawn_error(&python_name, e))?;
        let pid = child.id();
        let (stdin, stdout, stderr) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let child = Arc::new(Mutex::new(child));
        let stderr_tail = Arc::new(Mutex::new(Vec::new()));
        let stderr_thread = stderr.and_then(|stderr| {
            let tail = Arc::clone(&stderr_tail);
            thread::Builder::new()
                .name("ale-stderr".into())
                .stack_size(64 * 1024)
                .spawn(move || keep_tail(stderr, &tail))
                .ok()
        });
        let watchdog = Watchdog::start(Arc::clone(&child));
        let mut worker = match (stdin, stdout, watchdog) {
            (Some(stdin), Some(stdout), Ok(watchdog)) => Self {
                child,
                pid,
                stdin,
                stdout,
                watchdog,
                stderr_tail,
                stderr_thread,
                python: python_name,
                timeout,
                armed: timeout,
                screen_bytes: Vec::new(),
            },
            _ => {
                kill_and_reap(&child);
                return Err(EnvError::Backend(
                    "cannot set up the Atari worker's pipes".into(),
                ));
            }
        };
        worker.hello()?;
        Ok(worker)
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    fn hello(&mut self) -> EnvResult<()> {
        let reply = self.read_reply("start-up", STARTUP_TIMEOUT)?;
        if reply.status == STATUS_MISSING_ALE {
            let detail = self.read_message(reply, "start-up")?;
            return Err(EnvError::Backend(format!(
                "ale-py is not available to the Atari worker's Python '{py}' ({detail}); \
                 install it with `{py} -m pip install {ALE_PY_REQUIREMENT}` \
                 or point REM_PYTHON at a Python that has it",
                py = self.python
            )));
        }
        let reply = self.check(reply, "start-up")?;
        if reply.lives != HELLO_MAGIC || reply.value != PROTOCOL_VERSION {
            return Err(EnvError::Backend(format!(
                "'{}' did not start the Atari worker protocol v{PROTOCOL_VERSION}",
                self.python
            )));
        }
        Ok(())
    }

    /// Loads (or reloads, which reseeds) a ROM into `slot`.
    pub fn load(&mut self, slot: u8, rom_id: &str, ale_seed: u64) -> EnvResult<LoadedGame> {
        let mut request = Request::load(slot, rom_id.len(), ale_seed)
            .encode()
            .to_vec();
        request.extend_from_slice(rom_id.as_bytes());
        self.send(&request, "load")?;
        let reply = self.read_reply("load", STARTUP_TIMEOUT)?;
        let reply = self.check(reply, "load")?;
        let mut payload = vec![0u8; reply.value as usize];
        self.read_exact_guarded(&mut payload, "load", STARTUP_TIMEOUT)?;
        if payload.len() < 5 {
            return Err(EnvError::Backend(
                "the Atari worker sent a short load reply".into(),
            ));
        }
        let width = u16::from_le_bytes([payload[0], payload[1]]) as usize;
        let height = u16::from_le_bytes([payload[2], payload[3]]) as usize;
        let slot = usize::from(slot);
        if self.screen_bytes.len() <= slot {
            self.screen_bytes.resize(slot + 1, 0);
        }
        self.screen_bytes[slot] = width * height * 3;
        Ok(LoadedGame {
            width,
            height,
            action_ids: payload[4..].to_vec(),
            lives: reply.lives,
        })
    }

    /// Resets the game in `slot`; returns the lives.
    pub fn reset(&mut self, slot: u8) -> EnvResult<u32> {
        self.send(&Request::reset(slot).encode(), "reset")?;
        let reply = self.read_reply("reset", self.timeout)?;
        Ok(self.check(reply, "reset")?.lives)
    }

    /// Repeats `action` (an index into the minimal action set) in `slot`'s game for up
    /// to `max_frames` raw frames; the returned screens (one or two, oldest first) fill
    /// the front of `screens`, which must hold two.
    pub fn step(
        &mut self,
        slot: u8,
        action: u8,
        max_frames: u32,
        previous_screen: bool,
        screens: &mut [u8],
    ) -> EnvResult<StepOutcome> {
        let screen_bytes = self.screen_bytes.get(usize::from(slot)).map_or(0, |&b| b);
        assert!(
            screens.len() >= 2 * screen_bytes,
            "room for two screens is needed"
        );
        self.send(
            &Request::step(slot, action, max_frames, previous_screen).encode(),
            "step",
        )?;
        let reply = self.read_reply("step", self.timeout)?;
        let reply = self.check(reply, "step")?;
        let count = reply.screens as usize;
        if !(1..=2).contains(&count) {
            return Err(EnvError::Backend(format!(
                "the Atari worker sent {count} screens"
            )));
        }
        self.read_exact_guarded(&mut screens[..count * screen_bytes], "step", self.timeout)?;
        Ok(StepOutcome {
            reward: reply.reward,
            lives: reply.lives,
            game_over: reply.game_over,
            frames: reply.value,
            screens: count,
        })
    }

    fn send(&mut self, bytes: &[u8], during: &str) -> EnvResult<()> {
        self.stdin
            .write_all(bytes)
            .map_err(|e| self.failure(during, e))
    }

    fn read_reply(&mut self, during: &str, timeout: Duration) -> EnvResult<Reply> {
        let mut header = [0u8; HEADER_BYTES];
        self.read_exact_guarded(&mut header, during, timeout)?;
        Ok(Reply::decode(&header))
    }

    /// Turns an error reply into an error, reading its message.
    fn check(&mut self, reply: Reply, during: &str) -> EnvResult<Reply> {
        if reply.status == STATUS_OK {
            return Ok(reply);
        }
        let message = self.read_message(reply, during)?;
        Err(EnvError::Backend(format!(
            "Atari worker failed during {during}: {message}"
        )))
    }

    fn read_message(&mut self, reply: Reply, during: &str) -> EnvResult<String> {
        let mut message = vec![0u8; reply.value as usize];
        self.read_exact_guarded(&mut message, during, self.timeout.max(STARTUP_TIMEOUT))?;
        Ok(String::from_utf8_lossy(&message).into_owned())
    }

    fn read_exact_guarded(
        &mut self,
        buf: &mut [u8],
        during: &str,
        timeout: Duration,
    ) -> EnvResult<()> {
        self.armed = timeout;
        self.watchdog.arm(timeout);
        let result = self.stdout.read_exact(buf);
        self.watchdog.disarm();
        result.map_err(|e| self.failure(during, e))
    }

    /// Explains a broken pipe: a timeout kill, or the worker's exit and last words.
    fn failure(&self, during: &str, err: io::Error) -> EnvError {
        if self.watchdog.fired() {
            return EnvError::Backend(format!(
                "Atari worker (pid {}) did not answer within {:?} during {during}; it was killed",
                self.pid, self.armed
            ));
        }
        let status = match wait_for_exit(&self.child, Duration::from_millis(300)) {
            Some(status) => status.to_string(),
            None => format!("still running, pipe error: {err}"),
        };
        let tail = self.stderr_tail.lock().unwrap_or_else(|e| e.into_inner());
        let tail = String::from_utf8_lossy(&tail);
        let tail = tail.trim();
        let stderr = if tail.is_empty() {
            String::new()
        } else {
            format!("; its stderr: {tail}")
        };
        EnvError::Backend(format!(
            "Atari worker (pid {}, '{}') stopped during {during} ({status}){stderr}",
            self.pid, self.python
        ))
    }
}

impl Drop for AleWorker {
    fn drop(&mut self) {
        kill_and_reap(&self.child);
        if let Some(thread) = self.stderr_thread.take() {
            let _ = thread.join();
        }
    }
}

fn spawn_error(python: &str, err: io::Error) -> EnvError {
    let hint = format!(
        "the Atari backend needs Python 3 with {ALE_PY_REQUIREMENT}: \
         install it with `python3 -m pip install {ALE_PY_REQUIREMENT}` \
         and set REM_PYTHON if the interpreter is not `python3`"
    );
    if err.kind() == io::ErrorKind::NotFound {
        EnvError::Backend(format!("Python interpreter '{python}' not found; {hint}"))
    } else {
        EnvError::Backend(format!(
            "cannot start Python interpreter '{python}' ({err}); {hint}"
        ))
    }
}

/// Kills the process (harmless if it already exited) and reaps it, so no zombie stays.
fn kill_and_reap(child: &Mutex<Child>) {
    let mut child = child.lock().unwrap_or_else(|e| e.into_inner());
    let _ = child.kill();
    let _ = child.wait();
}

fn wait_for_exit(child: &Mutex<Child>, patience: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        let status = child
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .try_wait()
            .ok()
            .flatten();
        if status.is_some() || start.elapsed() >= patience {
            return status;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Collects the last bytes the worker wrote to stderr, for error messages.
fn keep_tail(mut stderr: impl Read, tail: &Mutex<Vec<u8>>) {
    let mut chunk = [0u8; 1024];
    while let Ok(n) = stderr.read(&mut chunk) {
        if n == 0 {
            break;
        }
        let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
        tail.extend_from_slice(&chunk[..n]);
        let excess = tail.len().saturating_sub(STDERR_TAIL_BYTES);
        tail.drain(..excess);
    }
}
