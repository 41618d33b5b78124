//! Bricks: a breakout-like game. A paddle on the bottom bounces a ball into three
//! rows of bricks; each brick broken gives +1.
//!
//! The player has `LIVES` lives, shown as marks in the top-left corner. Losing the
//! ball costs a life (`Info::life_lost`) and a new ball is served from the middle;
//! the episode terminates at zero lives or when every brick is gone, and is
//! truncated after a step limit. The ball moves diagonally, two pixels per step on
//! each axis, and leaves the paddle towards the side of the paddle it hit.

use super::draw::{self, Rgb};
use crate::env::{ActionSpace, Env, EnvError, EnvResult, Info, Step};
use crate::frame::{Frame, FRAME_SIDE};
use crate::rng::SplitMix64;

pub const LIVES: u32 = 3;
pub const DEFAULT_STEP_LIMIT: u64 = 1000;
pub const BRICK_ROWS: usize = 3;
pub const BRICK_COLS: usize = 8;

const SIDE: i32 = FRAME_SIDE as i32;
const BRICK_W: i32 = 8;
const BRICK_H: i32 = 4;
const BRICK_TOP: i32 = 10;
const TOP_WALL: i32 = 6;
const PADDLE_W: i32 = 12;
const PADDLE_H: i32 = 3;
const PADDLE_Y: i32 = 57;
const PADDLE_SPEED: i32 = 4;
const BALL: i32 = 3;
const BALL_SUBSTEPS: usize = 2;
const SERVE_Y: i32 = 28;

const NOOP: usize = 0;
const LEFT: usize = 1;
const RIGHT: usize = 2;

const BACKGROUND: Rgb = [0, 0, 0];
const WALL: Rgb = [90, 90, 90];
const BRICK_COLOURS: [Rgb; BRICK_ROWS] = [[220, 60, 60], [230, 150, 40], [210, 210, 50]];
const PADDLE: Rgb = [80, 160, 255];
const BALL_COLOUR: Rgb = [240, 240, 240];
const LIFE: Rgb = [120, 220, 120];

#[derive(Debug, Clone)]
struct State {
    bricks: [[bool; BRICK_COLS]; BRICK_ROWS],
    paddle_x: i32,
    ball_x: i32,
    ball_y: i32,
    ball_vx: i32,
    ball_vy: i32,
    lives: u32,
    steps: u64,
    done: bool,
}

impl State {
    fn bricks_left(&self) -> usize {
        self.bricks.iter().flatten().filter(|&&b| b).count()
    }

    /// Removes the first live brick overlapping the ball placed at (x, y).
    fn break_brick_at(&mut self, x: i32, y: i32) -> bool {
        for (row, bricks) in self.bricks.iter_mut().enumerate() {
            for (col, alive) in bricks.iter_mut().enumerate() {
                let (bx, by) = (col as i32 * BRICK_W, BRICK_TOP + row as i32 * BRICK_H);
                if *alive && overlaps(x, y, BALL, BALL, bx, by, BRICK_W, BRICK_H) {
                    *alive = false;
                    return true;
                }
            }
        }
        false
    }

    fn serve(&mut self, rng: &mut SplitMix64) {
        self.ball_x = 4 + rng.below((SIDE - BALL - 8) as u32) as i32;
        self.ball_y = SERVE_Y;
        self.ball_vx = rng.sign();
        self.ball_vy = 1;
    }
}

#[allow(clippy::too_many_arguments)]
fn overlaps(ax: i32, ay: i32, aw: i32, ah: i32, bx: i32, by: i32, bw: i32, bh: i32) -> bool {
    ax < bx + bw && bx < ax + aw && ay < by + bh && by < ay + ah
}

/// What happened to the ball during one step.
struct BallOutcome {
    bricks_broken: u32,
    lost: bool,
}

/// The bricks game. A fresh game behaves as if seeded with 0.
pub struct Bricks {
    rng: SplitMix64,
    actions: ActionSpace,
    step_limit: u64,
    state: Option<State>,
}

impl Default for Bricks {
    fn default() -> Self {
        Self::new()
    }
}

impl Bricks {
    pub fn new() -> Self {
        Self::with_step_limit(DEFAULT_STEP_LIMIT)
    }

    /// A game truncated after `step_limit` steps.
    pub fn with_step_limit(step_limit: u64) -> Self {
        Self {
            rng: SplitMix64::new(0),
            actions: ActionSpace::new(["NOOP", "LEFT", "RIGHT"]),
            step_limit,
            state: None,
        }
    }

    /// The scripted good policy: keep the paddle's centre under the ball.
    /// The paddle moves twice as fast as the ball sideways, so it rarely misses.
    pub fn heuristic_action(&self) -> usize {
        let Some(s) = &self.state else { return NOOP };
        let gap = (s.ball_x * 2 + BALL) - (s.paddle_x * 2 + PADDLE_W);
        // Compare doubled centres to stay in integers; a dead band of 2 pixels
        // keeps the paddle from oscillating around the ball.
        if gap < -4 {
            LEFT
        } else if gap > 4 {
            RIGHT
        } else {
            NOOP
        }
    }

    fn move_ball(state: &mut State) -> BallOutcome {
        let mut outcome = BallOutcome {
            bricks_broken: 0,
            lost: false,
        };
        for _ in 0..BALL_SUBSTEPS {
            let nx = state.ball_x + state.ball_vx;
            if nx < 0 || nx + BALL > SIDE {
                state.ball_vx = -state.ball_vx;
            } else if state.break_brick_at(nx, state.ball_y) {
                outcome.bricks_broken += 1;
                state.ball_vx = -state.ball_vx;
            } else {
                state.ball_x = nx;
            }

            let ny = state.ball_y + state.ball_vy;
            let lands_on_paddle = state.ball_vy > 0
                && state.ball_y + BALL <= PADDLE_Y
                && overlaps(
                    state.ball_x,
                    ny,
                    BALL,
                    BALL,
                    state.paddle_x,
                    PADDLE_Y,
                    PADDLE_W,
                    PADDLE_H,
                );
            if ny < TOP_WALL {
                state.ball_vy = 1;
            } else if state.break_brick_at(state.ball_x, ny) {
                outcome.bricks_broken += 1;
                state.ball_vy = -state.ball_vy;
            } else if lands_on_paddle {
                state.ball_vy = -1;
                let left_half = state.ball_x * 2 + BALL < state.paddle_x * 2 + PADDLE_W;
                state.ball_vx = if left_half { -1 } else { 1 };
            } else if ny >= SIDE {
                outcome.lost = true;
                break;
            } else {
                state.ball_y = ny;
            }
        }
        outcome
    }

    fn info(state: &State, life_lost: bool) -> Info {
        Info {
            lives: Some(state.lives),
            life_lost,
            episode_frame: state.steps,
        }
    }

    fn render(state: &State) -> Frame {
        let mut frame = Frame::black();
        draw::clear(&mut frame, BACKGROUND);
        draw::rect(&mut frame, 0, TOP_WALL - 1, SIDE, 1, WALL);
        for life in 0..state.lives as i32 {
            draw::rect(&mut frame, 2 + 5 * life, 1, 3, 3, LIFE);
        }
        for (row, bricks) in state.bricks.iter().enumerate() {
            for (col, &alive) in bricks.iter().enumerate() {
                if alive {
                    let (x, y) = (col as i32 * BRICK_W, BRICK_TOP + row as i32 * BRICK_H);
                    // One-pixel gaps keep neighbouring bricks apart in the image.
                    draw::rect(
                        &mut frame,
                        x,
                        y,
                        BRICK_W - 1,
                        BRICK_H - 1,
                        BRICK_COLOURS[row],
                    );
                }
            }
        }
        draw::rect(
            &mut frame,
            state.paddle_x,
            PADDLE_Y,
            PADDLE_W,
            PADDLE_H,
            PADDLE,
        );
        if state.lives > 0 {
            draw::rect(
                &mut frame,
                state.ball_x,
                state.ball_y,
                BALL,
                BALL,
                BALL_COLOUR,
            );
        }
        frame
    }
}

impl Env for Bricks {
    fn action_space(&self) -> &ActionSpace {
        &self.actions
    }

    fn reset(&mut self, seed: Option<u64>) -> EnvResult<(Frame, Info)> {
        if let Some(seed) = seed {
            self.rng = SplitMix64::new(seed);
        }
        let mut state = State {
            bricks: [[true; BRICK_COLS]; BRICK_ROWS],
            paddle_x: (SIDE - PADDLE_W) / 2,
            ball_x: 0,
            ball_y: 0,
            ball_vx: 0,
            ball_vy: 0,
            lives: LIVES,
            steps: 0,
            done: false,
        };
        state.serve(&mut self.rng);
        let out = (Self::render(&state), Self::info(&state, false));
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
            LEFT => -PADDLE_SPEED,
            RIGHT => PADDLE_SPEED,
            _ => 0,
        };
        state.paddle_x = (state.paddle_x + shift).clamp(0, SIDE - PADDLE_W);
        state.steps += 1;

        let outcome = Self::move_ball(state);
        if outcome.lost {
            state.lives -= 1;
            if state.lives > 0 {
                state.serve(&mut self.rng);
            }
        }
        let terminated = state.lives == 0 || state.bricks_left() == 0;
        let truncated = !terminated && state.steps >= self.step_limit;
        state.done = terminated || truncated;
        Ok(Step {
            obs: Self::render(state),
            reward: outcome.bricks_broken as f32,
            terminated,
            truncated,
            info: Self::info(state, outcome.lost),
        })
    }

    fn name(&self) -> &str {
        "bricks"
    }
}
