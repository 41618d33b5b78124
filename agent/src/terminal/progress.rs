//! The progress bars of the command line (training, evaluation, fit, play, sweeps).
//!
//! On a terminal a bar redraws in place. Where stderr is a file or a pipe (a run in
//! the background, a Slurm job's log), the bar's state is written as a plain line once
//! a minute instead, so long work shows that it moves and short work stays silent.

use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{
    HumanDuration, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle, TermLike,
};

/// How often a bar writes its line where stderr is not a terminal.
const LOG_INTERVAL: Duration = Duration::from_secs(60);

/// `epoch 12: world model [=====>    ] 12/36 00:04:10 eta 8m`, for a bar whose work
/// began at position `start` (a resumed run's epoch).
///
/// The ETA is the mean time per step since `start` times the steps left. indicatif's
/// own estimate weighs recent ticks, and with steps a minute or more apart (epochs) it
/// swung from minutes to hours, or centuries, between two lines of a log.
pub fn progress_style(start: u64) -> ProgressStyle {
    ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed_precise} eta {mean_eta}")
        .expect("static template")
        .with_key(
            "mean_eta",
            move |state: &ProgressState, w: &mut dyn fmt::Write| {
                let done = state.pos().saturating_sub(start);
                let left = state.len().map(|len| len.saturating_sub(state.pos()));
                let _ = w.write_str(&mean_eta(state.elapsed(), done, left));
            },
        )
        .progress_chars("=> ")
}

/// `left` more steps at the mean pace of `done` steps in `elapsed`, as indicatif
/// writes durations ("8m", "2h"); "-" before the first step or without a length.
fn mean_eta(elapsed: Duration, done: u64, left: Option<u64>) -> String {
    match left {
        Some(left) if done > 0 => {
            format!(
                "{:#}",
                HumanDuration(elapsed.mul_f64(left as f64 / done as f64))
            )
        }
        _ => "-".to_string(),
    }
}

/// A bar of `len` steps in [`progress_style`], drawn on stderr: in place on a
/// terminal, else as a line a minute.
pub fn progress_bar(len: u64) -> ProgressBar {
    progress_bar_from(len, 0)
}

/// [`progress_bar`] for work that resumes at step `start` of `len`: the bar starts
/// there, and its ETA counts the pace of the steps made from there on.
pub fn progress_bar_from(len: u64, start: u64) -> ProgressBar {
    let style = progress_style(start);
    let bar = if io::stderr().is_terminal() {
        ProgressBar::new(len).with_style(style)
    } else {
        let lines = Box::new(LogLines::new(LOG_INTERVAL));
        let target = ProgressDrawTarget::term_like_with_hz(lines, 1);
        let bar = ProgressBar::with_draw_target(Some(len), target).with_style(style);
        // Redrawn each second even while nothing moves, so that a long wait is logged too.
        bar.enable_steady_tick(Duration::from_secs(1));
        bar
    };
    bar.set_position(start);
    bar
}

/// A draw target that keeps the bar's latest rendering and writes it to stderr as one
/// line when `interval` has passed since the start or the last line written.
#[derive(Debug)]
struct LogLines {
    interval: Duration,
    state: Mutex<LogState>,
}

#[derive(Debug)]
struct LogState {
    /// The rendering being drawn.
    line: String,
    /// When the last line was written (at first: when the bar started).
    written: Instant,
}

impl LogLines {
    fn new(interval: Duration) -> Self {
        let state = LogState {
            line: String::new(),
            written: Instant::now(),
        };
        Self {
            interval,
            state: Mutex::new(state),
        }
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut LogState) -> T) -> T {
        f(&mut self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

impl TermLike for LogLines {
    fn width(&self) -> u16 {
        120
    }

    // A line is never redrawn in place: the cursor stays where it is.
    fn move_cursor_up(&self, _: usize) -> io::Result<()> {
        Ok(())
    }

    fn move_cursor_down(&self, _: usize) -> io::Result<()> {
        Ok(())
    }

    fn move_cursor_right(&self, _: usize) -> io::Result<()> {
        Ok(())
    }

    fn move_cursor_left(&self, _: usize) -> io::Result<()> {
        Ok(())
    }

    fn write_line(&self, s: &str) -> io::Result<()> {
        self.write_str(s)
    }

    fn write_str(&self, s: &str) -> io::Result<()> {
        self.with_state(|state| state.line.push_str(s.trim_start_matches('\r')));
        Ok(())
    }

    fn clear_line(&self) -> io::Result<()> {
        self.with_state(|state| state.line.clear());
        Ok(())
    }

    fn flush(&self) -> io::Result<()> {
        match self.take_due(Instant::now()) {
            Some(line) => writeln!(io::stderr().lock(), "{line}"),
            None => Ok(()),
        }
    }
}

impl LogLines {
    /// Takes the rendering drawn since the last flush: the line to write if one is due
    /// at `now`, else none (the rendering is dropped; a later one replaces it).
    fn take_due(&self, now: Instant) -> Option<String> {
        self.with_state(|state| {
            let line = std::mem::take(&mut state.line);
            let line = line.trim_end();
            if line.is_empty() || now.duration_since(state.written) < self.interval {
                return None;
            }
            state.written = now;
            Some(line.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Draws `message` on a bar over a [`LogLines`] target.
    fn draw(lines: &LogLines, message: &str) {
        lines.clear_line().unwrap();
        lines.write_str("\r").unwrap();
        lines.write_str(message).unwrap();
        lines.write_str("   ").unwrap();
    }

    #[test]
    fn a_line_is_due_once_a_minute_and_carries_the_latest_rendering() {
        let lines = LogLines::new(LOG_INTERVAL);
        let start = lines.with_state(|s| s.written);
        let at = |seconds| start + Duration::from_secs(seconds);
        draw(&lines, "eval [=>   ] 1/4");
        assert_eq!(lines.take_due(at(59)), None, "short work stays silent");
        draw(&lines, "eval [==>  ] 2/4");
        assert_eq!(lines.take_due(at(60)).as_deref(), Some("eval [==>  ] 2/4"));
        draw(&lines, "eval [===> ] 3/4");
        assert_eq!(
            lines.take_due(at(119)),
            None,
            "the clock restarts at each line"
        );
        draw(&lines, "eval [====>] 4/4");
        assert_eq!(lines.take_due(at(120)).as_deref(), Some("eval [====>] 4/4"));
        assert_eq!(
            lines.take_due(at(500)),
            None,
            "nothing drawn, nothing written"
        );
    }

    #[test]
    fn the_eta_is_the_mean_pace_times_the_steps_left() {
        let minutes = |m: u64| Duration::from_secs(60 * m);
        assert_eq!(mean_eta(minutes(10), 5, Some(20)), "40m");
        assert_eq!(mean_eta(minutes(100), 50, Some(1)), "2m");
        assert_eq!(
            mean_eta(minutes(3), 0, Some(60)),
            "-",
            "no pace before a step"
        );
        assert_eq!(mean_eta(minutes(3), 2, None), "-", "no length");
        assert_eq!(mean_eta(minutes(3), 2, Some(0)), "0s");
    }
}
