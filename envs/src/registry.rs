//! One place that turns a game name into an environment: native games by their
//! lower-case names, Atari-100K games by their CamelCase names.

use crate::atari::{AtariConfig, AtariEnv, AtariGame, ATARI_100K_GAMES};
use crate::native::{make_native, NATIVE_GAMES};
use crate::{Env, EnvError, EnvResult};

/// Training and evaluation use different wrapper stacks (algorithm.md, section 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvMode {
    Train,
    Eval,
}

pub fn is_native(game: &str) -> bool {
    NATIVE_GAMES.contains(&game)
}

/// Builds the environment `game` for `mode`, its randomness seeded by `seed`.
pub fn make_env(game: &str, mode: EnvMode, seed: u64) -> EnvResult<Box<dyn Env>> {
    if let Some(env) = make_native(game) {
        return Ok(env);
    }
    let game = AtariGame::find(game).map_err(|_| EnvError::UnknownGame {
        name: game.to_string(),
        known: NATIVE_GAMES
            .iter()
            .chain(ATARI_100K_GAMES.iter().map(|(name, _)| name))
            .copied()
            .collect::<Vec<_>>()
            .join(", "),
    })?;
    let config = match mode {
        EnvMode::Train => AtariConfig::train(game.name),
        EnvMode::Eval => AtariConfig::eval(game.name),
    };
    Ok(Box::new(AtariEnv::new(config.with_seed(seed))?))
}
