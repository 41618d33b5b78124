//! Kills a worker process that does not answer in time.
//!
//! Pipes in std have no read timeout. Instead of a reader thread (a thread hand-off
//! per step), the caller arms a deadline with two atomic stores around each blocking
//! read; a background thread polls it and kills the process when it passes, which
//! turns the stuck read into an end-of-file error.

use std::process::Child;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(50);
const DISARMED: u64 = 0;

struct Shared {
    start: Instant,
    /// Nanoseconds since `start` (plus one, so 0 means disarmed).
    deadline: AtomicU64,
    fired: AtomicBool,
    stop: AtomicBool,
    child: Arc<Mutex<Child>>,
}

impl Shared {
    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64 + 1
    }
}

pub struct Watchdog {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    pub fn start(child: Arc<Mutex<Child>>) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            start: Instant::now(),
            deadline: AtomicU64::new(DISARMED),
            fired: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            child,
        });
        let watched = Arc::clone(&shared);
        let thread = thread::Builder::new()
            .name("ale-watchdog".into())
            .stack_size(64 * 1024)
            .spawn(move || watch(&watched))?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    pub fn arm(&self, timeout: Duration) {
        let deadline = self.shared.now().saturating_add(timeout.as_nanos() as u64);
        self.shared.deadline.store(deadline, Ordering::Release);
    }

    pub fn disarm(&self) {
        self.shared.deadline.store(DISARMED, Ordering::Release);
    }

    /// True once the watchdog has killed the process.
    pub fn fired(&self) -> bool {
        self.shared.fired.load(Ordering::Acquire)
    }
}

fn watch(shared: &Shared) {
    while !shared.stop.load(Ordering::Acquire) {
        let deadline = shared.deadline.load(Ordering::Acquire);
        if deadline != DISARMED && shared.now() >= deadline {
            shared.fired.store(true, Ordering::Release);
            shared.deadline.store(DISARMED, Ordering::Release);
            let mut child = shared.child.lock().unwrap_or_else(|e| e.into_inner());
            let _ = child.kill();
        }
        thread::park_timeout(POLL);
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}
