//! Standard output that outlives its reader.
//!
//! `println!` panics when stdout is a pipe whose reader has gone (`rem eval ... | head`).
//! Every line the `rem` command prints goes through [`outln!`](crate::outln) instead:
//! once the reader has gone, later lines are dropped and the command finishes its work,
//! so a training run keeps its checkpoints and an evaluation writes its files. The
//! process cannot rely on SIGPIPE's default action instead: it also writes to the
//! emulator workers' pipes, where a dead worker must be an error to report, not a
//! silent exit.

use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static READER_GONE: AtomicBool = AtomicBool::new(false);

/// Prints `text` to stdout, or nothing once stdout's reader has gone. Other write
/// errors panic, as `print!`'s do.
pub fn print(text: std::fmt::Arguments<'_>) {
    if READER_GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    match stdout.write_fmt(text).and_then(|()| stdout.flush()) {
        Ok(()) => {}
        Err(error) if error.kind() == ErrorKind::BrokenPipe => {
            READER_GONE.store(true, Ordering::Relaxed)
        }
        Err(error) => panic!("failed printing to stdout: {error}"),
    }
}

/// `println!` through [`print()`]: a line on stdout that is dropped once the reader has
/// gone.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::terminal::output::print(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::terminal::output::print(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` through [`print()`].
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::terminal::output::print(format_args!($($arg)*))
    };
}
