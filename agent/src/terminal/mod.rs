//! What the command line writes to the terminal: `output` (stdout that outlives its
//! reader) and `progress` (progress bars, or a line a minute into a log).

pub mod output;
pub mod progress;
