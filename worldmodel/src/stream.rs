//! Seeded random streams of the calling thread, for the draws made inside the model
//! (dropout masks, sampled tokens) when the rows of a batch run on several threads.
//!
//! The backend's own generator is one per process: threads that read it take their
//! numbers in whatever order they happen to run. A thread that opens a stream here
//! draws from it instead, so its numbers depend only on the stream's seed.

use std::cell::RefCell;

use rem_envs::rng::SplitMix64;

thread_local! {
    static STREAM: RefCell<Option<SplitMix64>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's draws taken from a stream seeded with `seed`; the
/// thread's previous stream, if any, is back in place afterwards.
pub fn with_thread_stream<R>(seed: u64, f: impl FnOnce() -> R) -> R {
    let previous = STREAM.with(|s| s.replace(Some(SplitMix64::new(seed))));
    let result = f();
    STREAM.with(|s| s.replace(previous));
    result
}

/// `draw(stream)` on this thread's stream; `None` when no stream is open.
pub fn draw_from_thread_stream<R>(draw: impl FnOnce(&mut SplitMix64) -> R) -> Option<R> {
    STREAM.with(|s| s.borrow_mut().as_mut().map(draw))
}
