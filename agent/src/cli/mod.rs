//! The `rem` subcommands, one module each: its arguments (clap) and the handler that
//! hands them to the library.

pub mod bench;
pub mod compare;
pub mod dream;
pub mod eval;
pub mod fit;
pub mod play;
pub mod plot;
pub mod report;
pub mod sweep;
pub mod train;
