//! Our resize against Pillow's, the oracle of algorithm.md, section 1:
//! `Image.fromarray(screen).resize((64, 64), Image.BILINEAR)`, byte for byte, on
//! - raw screens of six games played with random actions through ale-py, life losses
//!   included (`atari_support/pillow_frames.py`);
//! - synthetic 210x160 screens with small objects (1x1, 1x2, 2x1 and 2x4 pixels) at
//!   every position, on three backgrounds;
//! - random screens of other shapes, shrinking and enlarging.
//!
//! Pillow runs in one Python process per test (`reference_wrappers.py resize` or
//! `pillow_frames.py`) while this side resizes the screens as they arrive.

mod atari_support;

use std::io::{BufReader, BufWriter, Read, Write};
use std::process::{Child, Command, Stdio};
use std::thread;

use atari_support::{
    ale_py_available, pillow_available, pillow_frames_script, python, reference_script,
};
use rem_envs::atari::resize::Resizer;
use rem_envs::rng::SplitMix64;
use rem_envs::FRAME_BYTES;

/// Differences between our frames and Pillow's, over all frames compared.
#[derive(Default)]
struct Tally {
    frames: usize,
    differing_frames: usize,
    differing_bytes: usize,
    abs_diff_sum: u64,
    max_diff: u8,
    first_failures: Vec<String>,
}

impl Tally {
    fn compare(&mut self, ours: &[u8], pillow: &[u8], what: impl FnOnce() -> String) {
        assert_eq!(ours.len(), pillow.len());
        self.frames += 1;
        let mut differing = 0;
        for (&a, &b) in ours.iter().zip(pillow) {
            let d = a.abs_diff(b);
            if d > 0 {
                differing += 1;
                self.abs_diff_sum += u64::from(d);
                self.max_diff = self.max_diff.max(d);
            }
        }
        if differing > 0 {
            self.differing_frames += 1;
            self.differing_bytes += differing;
            if self.first_failures.len() < 5 {
                self.first_failures
                    .push(format!("{} ({differing} bytes)", what()));
            }
        }
    }

    /// Says how many `what` were compared, then asserts that none differed.
    fn assert_identical(&self, what: &str) {
        let _ = writeln!(
            std::io::stderr(),
            "compared {} {what} with Pillow: {} differ",
            self.frames,
            self.differing_frames
        );
        let bytes = self.frames * FRAME_BYTES;
        assert!(
            self.differing_frames == 0,
            "{} of {} frames differ from Pillow: {} of {bytes} bytes, max difference {}, \
             mean difference {:.6} per byte; first: {}",
            self.differing_frames,
            self.frames,
            self.differing_bytes,
            self.max_diff,
            self.abs_diff_sum as f64 / bytes.max(1) as f64,
            self.first_failures.join(", ")
        );
    }
}

fn read_exact_or_eof(reader: &mut impl Read, buf: &mut [u8]) -> bool {
    match reader.read_exact(buf) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => false,
        Err(e) => panic!("reading from the Pillow process: {e}"),
    }
}

fn finish(child: Child) {
    let output = child
        .wait_with_output()
        .expect("wait for the Pillow process");
    assert!(
        output.status.success(),
        "the Pillow process failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Sends screens to `reference_wrappers.py resize` and compares each of Pillow's
/// frames with ours as it comes back. `screen(i)` builds screen `i` (deterministic,
/// called once per side) with its height and width.
fn compare_with_pillow(
    count: usize,
    screen: impl Fn(usize) -> (usize, usize, Vec<u8>) + Send + Sync + Copy + 'static,
    describe: impl Fn(usize) -> String,
) -> Tally {
    let mut child = Command::new(python())
        .arg(reference_script())
        .arg("resize")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the Pillow resize");
    let stdin = child.stdin.take().unwrap();
    let writer = thread::spawn(move || {
        let mut stdin = BufWriter::new(stdin);
        for i in 0..count {
            let (h, w, bytes) = screen(i);
            stdin.write_all(&(h as u16).to_le_bytes())?;
            stdin.write_all(&(w as u16).to_le_bytes())?;
            stdin.write_all(&bytes)?;
        }
        stdin.flush()
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut tally = Tally::default();
    let mut pillow = vec![0u8; FRAME_BYTES];
    let mut ours = vec![0u8; FRAME_BYTES];
    let mut resizer: Option<Resizer> = None;
    for i in 0..count {
        assert!(
            read_exact_or_eof(&mut stdout, &mut pillow),
            "Pillow stopped after {i} of {count} frames"
        );
        let (h, w, bytes) = screen(i);
        let r = match resizer.take() {
            Some(r) if r.input_bytes() == bytes.len() => r,
            _ => Resizer::new(h, w),
        };
        r.resize_into(&bytes, &mut ours);
        resizer = Some(r);
        tally.compare(&ours, &pillow, || describe(i));
    }
    writer.join().unwrap().expect("write screens to Pillow");
    finish(child);
    tally
}

const GAMES: [&str; 6] = [
    "MsPacman",
    "Seaquest",
    "Breakout",
    "Pong",
    "Boxing",
    "Frostbite",
];
/// Frames compared per game: every 12th raw frame of random play (about 3,000 raw
/// frames), plus every frame on which a life was lost.
const FRAMES_PER_GAME: usize = 250;

#[test]
fn raw_screens_of_six_games_match_pillow() {
    if !ale_py_available("raw_screens_of_six_games_match_pillow")
        || !pillow_available("raw_screens_of_six_games_match_pillow")
    {
        return;
    }
    let mut child = Command::new(python())
        .arg(pillow_frames_script())
        .args(["--games", &GAMES.join(",")])
        .args(["--frames", &FRAMES_PER_GAME.to_string()])
        .args(["--stride", "12", "--seed", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start pillow_frames.py");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut tally = Tally::default();
    let mut frames_per_game = [0usize; GAMES.len()];
    // Lives of each game's frames in order: life losses show as drops.
    let mut lives: Vec<Vec<i16>> = vec![Vec::new(); GAMES.len()];
    let mut resizer: Option<Resizer> = None;
    let mut header = [0u8; 8];
    let mut ours = vec![0u8; FRAME_BYTES];
    let mut pillow = vec![0u8; FRAME_BYTES];
    let mut raw = Vec::new();
    while read_exact_or_eof(&mut stdout, &mut header) {
        let h = u16::from_le_bytes([header[0], header[1]]) as usize;
        let w = u16::from_le_bytes([header[2], header[3]]) as usize;
        let game_lives = i16::from_le_bytes([header[4], header[5]]);
        let game = u16::from_le_bytes([header[6], header[7]]) as usize;
        raw.resize(h * w * 3, 0);
        stdout.read_exact(&mut raw).unwrap();
        stdout.read_exact(&mut pillow).unwrap();
        let r = resizer.get_or_insert_with(|| Resizer::new(h, w));
        assert_eq!(r.input_bytes(), raw.len(), "screen size changed");
        r.resize_into(&raw, &mut ours);
        let n = frames_per_game[game];
        tally.compare(&ours, &pillow, || format!("{} frame {n}", GAMES[game]));
        frames_per_game[game] += 1;
        lives[game].push(game_lives);
    }
    finish(child);
    assert_eq!(frames_per_game, [FRAMES_PER_GAME; GAMES.len()]);
    for (game, lives) in GAMES.iter().zip(&lives) {
        let drops = lives.windows(2).filter(|l| l[1] < l[0]).count();
        let has_lives = lives[0] >= 0;
        assert_eq!(
            has_lives,
            !matches!(*game, "Pong" | "Boxing"),
            "{game}: lives {:?}",
            &lives[..3]
        );
        if has_lives {
            assert!(drops >= 2, "{game}: only {drops} life losses");
        }
    }
    tally.assert_identical("raw game screens");
}

/// Object sizes (height, width).
const SHAPES: [(usize, usize); 4] = [(1, 1), (1, 2), (2, 1), (2, 4)];
const HEIGHT: usize = 210;
const WIDTH: usize = 160;

/// Objects are laid out on a grid with this period (rows, columns). A vertical-pass
/// output reads at most 7 source rows and a horizontal one 5 columns, so no output
/// sees two objects: each frame is as many single-object frames at once, and the
/// `period_y * period_x` offsets of the grid put an object at every position.
fn period((h, w): (usize, usize)) -> (usize, usize) {
    (h + 7, w + 5)
}

/// (background, object colour) schemes: extremes on black; an Atari-like playfield
/// of coloured bands and stripes; a noise texture.
const SCHEMES: usize = 3;

fn background(scheme: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; HEIGHT * WIDTH * 3];
    match scheme {
        0 => {}
        1 => {
            const BANDS: [[u8; 3]; 3] = [[144, 72, 17], [0, 28, 136], [110, 156, 66]];
            for (i, px) in bytes.chunks_exact_mut(3).enumerate() {
                let (y, x) = (i / WIDTH, i % WIDTH);
                let rgb = if x % 40 < 3 {
                    [236, 236, 236]
                } else {
                    BANDS[(y / 13) % 3]
                };
                px.copy_from_slice(&rgb);
            }
        }
        _ => {
            let mut rng = SplitMix64::new(7);
            bytes.iter_mut().for_each(|b| *b = rng.next_u64() as u8);
        }
    }
    bytes
}

const OBJECT: [[u8; 3]; SCHEMES] = [[255, 255, 255], [214, 92, 92], [255, 255, 0]];

/// Frame `index` of the sweep: scheme, shape, then the grid offset.
fn object_frame(index: usize) -> (usize, usize, Vec<u8>) {
    let (scheme, shape, dy, dx) = object_frame_params(index);
    let (h, w) = SHAPES[shape];
    let (py, px) = period(SHAPES[shape]);
    let mut bytes = background(scheme);
    for y0 in (dy..=HEIGHT - h).step_by(py) {
        for x0 in (dx..=WIDTH - w).step_by(px) {
            for y in y0..y0 + h {
                let row = &mut bytes[(y * WIDTH + x0) * 3..(y * WIDTH + x0 + w) * 3];
                for p in row.chunks_exact_mut(3) {
                    p.copy_from_slice(&OBJECT[scheme]);
                }
            }
        }
    }
    (HEIGHT, WIDTH, bytes)
}

fn frames_per_scheme() -> usize {
    SHAPES
        .iter()
        .map(|&s| {
            let (py, px) = period(s);
            py * px
        })
        .sum()
}

fn object_frame_params(mut index: usize) -> (usize, usize, usize, usize) {
    let per_scheme = frames_per_scheme();
    let scheme = index / per_scheme;
    index %= per_scheme;
    for (shape, &s) in SHAPES.iter().enumerate() {
        let (py, px) = period(s);
        if index < py * px {
            return (scheme, shape, index / px, index % px);
        }
        index -= py * px;
    }
    unreachable!()
}

#[test]
fn small_objects_at_every_position_match_pillow() {
    if !pillow_available("small_objects_at_every_position_match_pillow") {
        return;
    }
    // Every position of every shape is covered once per scheme.
    for (shape, &(h, w)) in SHAPES.iter().enumerate() {
        let (py, px) = period((h, w));
        let mut covered = vec![0u8; HEIGHT * WIDTH];
        for dy in 0..py {
            for dx in 0..px {
                for y in (dy..=HEIGHT - h).step_by(py) {
                    for x in (dx..=WIDTH - w).step_by(px) {
                        covered[y * WIDTH + x] += 1;
                    }
                }
            }
        }
        for (i, &c) in covered.iter().enumerate() {
            let (y, x) = (i / WIDTH, i % WIDTH);
            let placeable = y + h <= HEIGHT && x + w <= WIDTH;
            assert_eq!(c, u8::from(placeable), "shape {shape} at ({y}, {x})");
        }
    }
    let count = SCHEMES * frames_per_scheme();
    let tally = compare_with_pillow(count, object_frame, |i| {
        let (scheme, shape, dy, dx) = object_frame_params(i);
        format!(
            "scheme {scheme}, {}x{} objects from ({dy}, {dx})",
            SHAPES[shape].0, SHAPES[shape].1
        )
    });
    tally.assert_identical("synthetic frames");
}

/// Shrinking and enlarging; the last four run the vertical pass first.
const SHAPES_OF_ANY_SIZE: [(usize, usize); 11] = [
    (210, 160),
    (250, 160),
    (64, 64),
    (50, 30),
    (7, 300),
    (1, 1),
    (128, 128),
    (65, 63),
    (210, 129),
    (300, 7),
    (100, 20),
];

fn random_screen(index: usize) -> (usize, usize, Vec<u8>) {
    let (h, w) = SHAPES_OF_ANY_SIZE[index];
    let mut rng = SplitMix64::new(42 + index as u64);
    (h, w, (0..h * w * 3).map(|_| rng.next_u64() as u8).collect())
}

#[test]
fn random_screens_of_any_shape_match_pillow() {
    if !pillow_available("random_screens_of_any_shape_match_pillow") {
        return;
    }
    let tally = compare_with_pillow(SHAPES_OF_ANY_SIZE.len(), random_screen, |i| {
        let (h, w) = SHAPES_OF_ANY_SIZE[i];
        format!("{h}x{w}")
    });
    tally.assert_identical("random screens");
}
