//! `rem eval --record`: evaluation episodes written as animated PNGs, read back with
//! the png crate's decoder and checked against catch's rules (a ball falls one row a
//! step from the top row, lands after 7 steps, 10 drops an episode, the last ball in
//! its own colour).

use std::path::Path;

use rem_agent::figures::recording::SCALE;
use rem_envs::native::catch::{BALL, DROPS_PER_EPISODE, GRID, LAST_BALL};
use rem_envs::FRAME_SIDE;

mod common;
use common::*;

/// Each frame of an animated PNG, reduced to 64x64 RGB after checking that every
/// 4x4 block of the enlarged frame is one colour.
fn decode_animation(path: &Path) -> Vec<Vec<[u8; 3]>> {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let side = FRAME_SIDE * SCALE;
    let frames = reader.info().animation_control.unwrap().num_frames;
    assert_eq!(
        (reader.info().width, reader.info().height),
        (side as u32, side as u32)
    );
    let mut buffer = vec![0; reader.output_buffer_size()];
    (0..frames)
        .map(|_| {
            reader.next_frame(&mut buffer).unwrap();
            let pixel = |x: usize, y: usize| {
                let i = (y * side + x) * 3;
                [buffer[i], buffer[i + 1], buffer[i + 2]]
            };
            let mut small = Vec::with_capacity(FRAME_SIDE * FRAME_SIDE);
            for y in 0..FRAME_SIDE {
                for x in 0..FRAME_SIDE {
                    let colour = pixel(x * SCALE, y * SCALE);
                    for (dx, dy) in (0..SCALE).flat_map(|dx| (0..SCALE).map(move |dy| (dx, dy))) {
                        assert_eq!(pixel(x * SCALE + dx, y * SCALE + dy), colour);
                    }
                    small.push(colour);
                }
            }
            small
        })
        .collect()
}

/// The grid row holding the ball, and whether it is the episode's last ball.
fn ball(frame: &[[u8; 3]]) -> (usize, bool) {
    let at = frame
        .iter()
        .position(|&c| c == BALL || c == LAST_BALL)
        .expect("a frame shows the ball");
    let cell = FRAME_SIDE / GRID as usize;
    (at / FRAME_SIDE / cell, frame[at] == LAST_BALL)
}

#[test]
fn recorded_episodes_hold_every_step_in_order_and_leave_the_scores_alone() {
    let eval = |dir: &Path, record: &[&str]| {
        let out = random_catch_eval(3, dir).args(record).output().unwrap();
        assert_success(&out);
        let text = std::fs::read_to_string(dir.join("eval.json")).unwrap();
        let mut report: serde_json::Value = serde_json::from_str(&text).unwrap();
        // The provenance names the command, which differs; the scores may not.
        report
            .as_object_mut()
            .unwrap()
            .remove("provenance")
            .unwrap();
        report
    };
    let (plain, recorded) = (temp_dir("record-none"), temp_dir("record-two"));
    assert_eq!(eval(&recorded, &["--record", "2"]), eval(&plain, &[]));
    assert!(!plain.join("episodes").exists());
    let episodes = recorded.join("episodes");
    assert!(!episodes.join("episode-3.png").exists());
    let steps_per_drop = GRID as usize - 1;
    for k in 1..=2 {
        let frames = decode_animation(&episodes.join(format!("episode-{k}.png")));
        assert_eq!(frames.len(), DROPS_PER_EPISODE as usize * steps_per_drop);
        for (step, frame) in frames.iter().enumerate() {
            let last_drop = step / steps_per_drop == DROPS_PER_EPISODE as usize - 1;
            assert_eq!(
                ball(frame),
                (step % steps_per_drop, last_drop),
                "step {step}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&plain);
    let _ = std::fs::remove_dir_all(&recorded);
}

#[test]
fn recording_more_episodes_than_are_played_is_refused() {
    let dir = temp_dir("record-too-many");
    let out = random_catch_eval(2, &dir)
        .args(["--record", "3"])
        .output()
        .unwrap();
    assert_one_line_error(&out, "cannot record 3 episodes of 2");
    let _ = std::fs::remove_dir_all(&dir);
}
