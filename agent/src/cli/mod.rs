//! The `rem` subcommands, one module each: its arguments (clap) and the handler that
//! hands them to the library.

pub mod bench;
pub mod dream;
pub mod eval;
pub mod fit;
pub mod play;
pub mod report;
pub mod sweep;
pub mod train;

use anyhow::Result;

/// Writes to stdout. When its reader has gone (`rem report | head`), the command ends
/// quietly, as Unix tools do, where `print!` would panic.
pub fn print_out(text: std::fmt::Arguments<'_>) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_fmt(text).and_then(|()| stdout.flush()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        result => Ok(result?),
    }
}
