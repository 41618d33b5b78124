//! Dodge: the player square moves in four directions while hazards fall from the
//! top (some drifting sideways) or sweep in from the sides.
//!
//! Each hazard that leaves the screen without touching the player gives +1, so the
//! reward is visible in the frames. Touching a hazard terminates the episode; a
//! step limit truncates it. At least one hazard is always on screen.

use super::draw::{self, Rgb};
use crate::env::{ActionSpace, Env, EnvError, EnvResult, Info, Step};
use crate::frame::{Frame, FRAME_SIDE};
use crate::rng::SplitMix64;

pub const DEFAULT_STEP_LIMIT: u64 = 500;
pub const MAX_HAZARDS: usize = 8;

const SIDE: i32 = FRAME_SIDE as i32;
const PLAYER: i32 = 6;
const PLAYER_SPEED: i32 = 3;
const HOME_X: i32 = (SIDE - PLAYER) / 2;
const HOME_Y: i32 = SIDE - PLAYER - 6;
const HAZARD: i32 = 5;
const SPAWN_CHANCE: f64 = 0.35;
const SIDE_SPAWN_SHARE: f64 = 0.25;
const SIDE_SPEED: i32 = 2;
/// Steps the scripted policy looks ahead.
const LOOKAHEAD: i32 = 6;

const NOOP: usize = 0;
const UP: usize = 1;
const RIGHT: usize = 2;
const LEFT: usize = 3;
const DOWN: usize = 4;

const BACKGROUND: Rgb = [10, 10, 30];
const PLAYER_COLOUR: Rgb = [70, 220, 90];
const FALLER: Rgb = [230, 60, 60];
const SWEEPER: Rgb = [240, 160, 40];

#[derive(Debug, Clone, Copy)]
struct Hazard {
    x: i32,
    y: i32,
    vx: i32,
    vy: i32,
}

impl Hazard {
    fn spawn(rng: &mut SplitMix64) -> Self {
        if rng.chance(SIDE_SPAWN_SHARE) {
            let y = rng.below((SIDE - HAZARD) as u32) as i32;
            if rng.below(2) == 0 {
                Self {
                    x: 1 - HAZARD,
                    y,
                    vx: SIDE_SPEED,
                    vy: 0,
                }
            } else {
                Self {
                    x: SIDE - 1,
                    y,
                    vx: -SIDE_SPEED,
                    vy: 0,
                }
            }
        } else {
            let x = rng.below((SIDE - HAZARD) as u32) as i32;
            let vy = 1 + rng.below(3) as i32;
            let vx = rng.below(3) as i32 - 1;
            Self {
                x,
                y: 1 - HAZARD,
                vx,
                vy,
            }
        }
    }

    fn off_screen(&self) -> bool {
        self.x + HAZARD <= 0 || self.x >= SIDE || self.y >= SIDE
    }

    /// Whether this hazard, `k` steps ahead, touches a player at (px, py) grown by `margin`.
    fn touches(&self, k: i32, px: i32, py: i32, margin: i32) -> bool {
        let (hx, hy) = (self.x + k * self.vx, self.y + k * self.vy);
        let (size, x0, y0) = (PLAYER + 2 * margin, px - margin, py - margin);
        hx < x0 + size && x0 < hx + HAZARD && hy < y0 + size && y0 < hy + HAZARD
    }
}

#[derive(Debug, Clone)]
struct State {
    player_x: i32,
    player_y: i32,
    hazards: Vec<Hazard>,
    steps: u64,
    done: bool,
}

/// The dodge game. A fresh game behaves as if seeded with 0.
pub struct Dodge {
    rng: SplitMix64,
    actions: ActionSpace,
    step_limit: u64,
    state: Option<State>,
}

impl Default for Dodge {
    fn default() -> Self {
        Self::new()
    }
}

fn moved(x: i32, y: i32, action: usize) -> (i32, i32) {
    let (dx, dy) = match action {
        UP => (0, -PLAYER_SPEED),
        RIGHT => (PLAYER_SPEED, 0),
        LEFT => (-PLAYER_SPEED, 0),
        DOWN => (0, PLAYER_SPEED),
        _ => (0, 0),
    };
    (
        (x + dx).clamp(0, SIDE - PLAYER),
        (y + dy).clamp(0, SIDE - PLAYER),
    )
}

impl Dodge {
    pub fn new() -> Self {
        Self::with_step_limit(DEFAULT_STEP_LIMIT)
    }

    /// A game truncated after `step_limit` steps.
    pub fn with_step_limit(step_limit: u64) -> Self {
        Self {
            rng: SplitMix64::new(0),
            actions: ActionSpace::new(["NOOP", "UP", "RIGHT", "LEFT", "DOWN"]),
            step_limit,
            state: None,
        }
    }

    /// The scripted good policy: a two-move search. Each pair of moves is scored by
    /// the hazards it runs into (extrapolated along their velocities) and, for a
    /// few further steps with the player standing still, by the hazards that come
    /// close; positions near the bottom centre are preferred on ties.
    pub fn heuristic_action(&self) -> usize {
        let Some(s) = &self.state else { return NOOP };
        let threat = |px: i32, py: i32, k: i32| -> f64 {
            let mut score = 0.0;
            for h in &s.hazards {
                if h.touches(k, px, py, 0) {
                    score += 1000.0 / k as f64;
                }
                for ahead in k + 1..=LOOKAHEAD {
                    if h.touches(ahead, px, py, 2) {
                        score += (LOOKAHEAD + 1 - ahead) as f64;
                    }
                }
            }
            score
        };
        let actions = [NOOP, UP, RIGHT, LEFT, DOWN];
        let mut best = (NOOP, f64::INFINITY);
        for first in actions {
            let (x1, y1) = moved(s.player_x, s.player_y, first);
            let score = if s.hazards.iter().any(|h| h.touches(1, x1, y1, 0)) {
                f64::MAX
            } else {
                let follow_up = |second| {
                    let (x2, y2) = moved(x1, y1, second);
                    let home = 0.02 * ((x2 - HOME_X).abs() + (y2 - HOME_Y).abs()) as f64;
                    threat(x2, y2, 2) + home
                };
                actions
                    .into_iter()
                    .map(follow_up)
                    .fold(f64::INFINITY, f64::min)
            };
            if score < best.1 {
                best = (first, score);
            }
        }
        best.0
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
        draw::clear(&mut frame, BACKGROUND);
        for h in &state.hazards {
            let colour = if h.vy == 0 { SWEEPER } else { FALLER };
            draw::rect(&mut frame, h.x, h.y, HAZARD, HAZARD, colour);
        }
        draw::rect(
            &mut frame,
            state.player_x,
            state.player_y,
            PLAYER,
            PLAYER,
            PLAYER_COLOUR,
        );
        frame
    }
}

impl Env for Dodge {
    fn action_space(&self) -> &ActionSpace {
        &self.actions
    }

    fn reset(&mut self, seed: Option<u64>) -> EnvResult<(Frame, Info)> {
        if let Some(seed) = seed {
            self.rng = SplitMix64::new(seed);
        }
        let state = State {
            player_x: HOME_X,
            player_y: HOME_Y,
            hazards: vec![Hazard::spawn(&mut self.rng)],
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
        (state.player_x, state.player_y) = moved(state.player_x, state.player_y, action);
        for h in &mut state.hazards {
            h.x += h.vx;
            h.y += h.vy;
        }
        state.steps += 1;

        let (px, py) = (state.player_x, state.player_y);
        let hit = state.hazards.iter().any(|h| h.touches(0, px, py, 0));
        let mut reward = 0.0;
        if !hit {
            let before = state.hazards.len();
            state.hazards.retain(|h| !h.off_screen());
            reward = (before - state.hazards.len()) as f32;
            let room = state.hazards.len() < MAX_HAZARDS;
            if state.hazards.is_empty() || (room && self.rng.chance(SPAWN_CHANCE)) {
                state.hazards.push(Hazard::spawn(&mut self.rng));
            }
        }
        let truncated = !hit && state.steps >= self.step_limit;
        state.done = hit || truncated;
        Ok(Step {
            obs: Self::render(state),
            reward,
            terminated: hit,
            truncated,
            info: Self::info(state),
        })
    }

    fn name(&self) -> &str {
        "dodge"
    }
}
