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

/// Fails with [`EnvError::UnknownGame`], every known name listed, unless `game` names
/// a native game or an Atari-100K game.
pub fn check_game(game: &str) -> EnvResult<()> {
    if is_native(game) || AtariGame::find(game).is_ok() {
        return Ok(());
    }
    Err(EnvError::UnknownGame {
        name: game.to_string(),
        known: NATIVE_GAMES
            .iter()
            .chain(ATARI_100K_GAMES.iter().map(|(name, _)| name))
            .copied()
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Builds the environment `game` for `mode`, its randomness seeded by `seed`.
pub fn make_env(game: &str, mode: EnvMode, seed: u64) -> EnvResult<Box<dyn Env>> {
    Ok(make_envs(game, mode, seed, 1)?.remove(0))
}

/// Builds `count` environments of `game` for `mode`, the i-th as `make_env(game,
/// mode, seed + i)` would. Atari games share one worker process per core, not one each.
pub fn make_envs(
    game: &str,
    mode: EnvMode,
    seed: u64,
    count: usize,
) -> EnvResult<Vec<Box<dyn Env>>> {
    check_game(game)?;
    if is_native(game) {
        let make = |_| make_native(game).expect("a native game");
        return Ok((0..count).map(make).collect());
    }
    let game = AtariGame::find(game)?;
    let config = match mode {
        EnvMode::Train => AtariConfig::train(game.name),
        EnvMode::Eval => AtariConfig::eval(game.name),
    };
    let configs = (0..count)
        .map(|i| config.clone().with_seed(seed.wrapping_add(i as u64)))
        .collect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let envs = AtariEnv::start_many(configs, cores)?;
    Ok(envs
        .into_iter()
        .map(|env| Box::new(env) as Box<dyn Env>)
        .collect())
}
