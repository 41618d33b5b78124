//! The look of every progress bar of the command line (training, fit, play).

use indicatif::ProgressStyle;

/// `epoch 12: world model [=====>    ] 12/36 00:04:10 eta 00:08:20`.
pub fn progress_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta}")
        .expect("static template")
        .progress_chars("=> ")
}
