//! Catch: a ball falls down an 8x8 grid of 8x8-pixel cells and a one-cell paddle
//! on the bottom row moves to catch it.
//!
//! Every cell lines up with one token of the tokenizer's 8x8 grid, so a tiny model
//! can learn the game. The ball falls one row per step and lands after 7 steps:
//! +1 if the paddle is under it, -1 otherwise, then a new ball appears on the top
//! row. After `DROPS_PER_EPISODE` drops the episode terminates; the last ball is
//! drawn in a different colour so that the end is visible in the frames.

use super::draw::{self, Rgb};
use crate::env::{ActionSpace, Env, EnvError, EnvResult, Info, Step};
use crate::frame::Frame;
use crate::rng::SplitMix64;

pub const GRID: i32 = 8;
pub const CELL: i32 = 8;
pub const DROPS_PER_EPISODE: u32 = 10;

const NOOP: usize = 0;
const LEFT: usize = 1;
const RIGHT: usize = 2;

const PADDLE_ROW: i32 = GRID - 1;
pub const BALL: Rgb = [230, 70, 60];
pub const LAST_BALL: Rgb = [245, 215, 40];
pub const PADDLE: Rgb = [80, 160, 255];

#[derive(Debug, Clone)]
struct State {
    paddle_col: i32,
    ball_col: i32,
    ball_row: i32,
    drops: u32,
    steps: u64,
    done: bool,
}

/// The catch game. A fresh game behaves as if seeded with 0.
pub struct Catch {
    rng: SplitMix64,
    actions: ActionSpace,
    state: Option<State>,
}

impl Default for Catch {
    fn default() -> Self {
        Self::new()
    }
}

impl Catch {
    pub fn new() -> Self {
        Self {
            rng: SplitMix64::new(0),
            actions: ActionSpace::new(["NOOP", "LEFT", "RIGHT"]),
            state: None,
        }
    }

    /// The scripted good policy: move the paddle towards the ball's column.
    /// It catches every ball, since the ball takes 7 steps to fall and the
    /// paddle needs at most 7 to cross the grid.
    pub fn heuristic_action(&self) -> usize {
        match &self.state {
            Some(s) if s.ball_col < s.paddle_col => LEFT,
            Some(s) if s.ball_col > s.paddle_col => RIGHT,
            _ => NOOP,
        }
    }

    fn info(state: &State) -> Info {
        Info {
            lives: None,
            life_lost: false,
            episode_frame: state.steps,
        }
    }

    fn render(state: &State) -> Frame {
        let mut frame = Frame::black();
        let ball = if state.drops + 1 >= DROPS_PER_EPISODE {
            LAST_BALL
        } else {
            BALL
        };
        draw::rect(
            &mut frame,
            state.paddle_col * CELL,
            PADDLE_ROW * CELL,
            CELL,
            CELL,
            PADDLE,
        );
        draw::rect(
            &mut frame,
            state.ball_col * CELL,
            state.ball_row * CELL,
            CELL,
            CELL,
            ball,
        );
        frame
    }
}

impl Env for Catch {
    fn action_space(&self) -> &ActionSpace {
        &self.actions
    }

    fn reset(&mut self, seed: Option<u64>) -> EnvResult<(Frame, Info)> {
        if let Some(seed) = seed {
            self.rng = SplitMix64::new(seed);
        }
        let state = State {
            paddle_col: self.rng.below(GRID as u32) as i32,
            ball_col: self.rng.below(GRID as u32) as i32,
            ball_row: 0,
            drops: 0,
            steps: 0,
            done: false,
        };
        let out = (Self::render(&state), Self::info(&state));
        self.state = Some(state);
        Ok(out)
    }

    fn step(&mut self, action: usize) -> EnvResult<Step> {
        let state = match &mut self.state {
            Some(s) if !s.done => s,
            _ => return Err(EnvError::NeedsReset),
        };
        self.actions.check(action)?;
        let shift = match action {
            LEFT => -1,
            RIGHT => 1,
            _ => 0,
        };
        state.paddle_col = (state.paddle_col + shift).clamp(0, GRID - 1);
        state.ball_row += 1;
        state.steps += 1;

        let mut reward = 0.0;
        if state.ball_row == PADDLE_ROW {
            reward = if state.ball_col == state.paddle_col {
                1.0
            } else {
                -1.0
            };
            state.drops += 1;
            if state.drops == DROPS_PER_EPISODE {
                state.done = true;
            } else {
                state.ball_col = self.rng.below(GRID as u32) as i32;
                state.ball_row = 0;
            }
        }
        Ok(Step {
            obs: Self::render(state),
            reward,
            terminated: state.done,
            truncated: false,
            info: Self::info(state),
        })
    }

    fn name(&self) -> &str {
        "catch"
    }
}
