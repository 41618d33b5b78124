//! The 26 Atari 100K games and the ALE action names.

use crate::env::EnvError;

/// Atari 100K games by name, with the ALE ROM id of each.
pub const ATARI_100K_GAMES: [(&str, &str); 26] = [
    ("Alien", "alien"),
    ("Amidar", "amidar"),
    ("Assault", "assault"),
    ("Asterix", "asterix"),
    ("BankHeist", "bank_heist"),
    ("BattleZone", "battle_zone"),
    ("Boxing", "boxing"),
    ("Breakout", "breakout"),
    ("ChopperCommand", "chopper_command"),
    ("CrazyClimber", "crazy_climber"),
    ("DemonAttack", "demon_attack"),
    ("Freeway", "freeway"),
    ("Frostbite", "frostbite"),
    ("Gopher", "gopher"),
    ("Hero", "hero"),
    ("Jamesbond", "jamesbond"),
    ("Kangaroo", "kangaroo"),
    ("Krull", "krull"),
    ("KungFuMaster", "kung_fu_master"),
    ("MsPacman", "ms_pacman"),
    ("Pong", "pong"),
    ("PrivateEye", "private_eye"),
    ("Qbert", "qbert"),
    ("RoadRunner", "road_runner"),
    ("Seaquest", "seaquest"),
    ("UpNDown", "up_n_down"),
];

/// ALE's full action set; the minimal action set of a game is a subset, by id.
pub const ALE_ACTION_NAMES: [&str; 18] = [
    "NOOP",
    "FIRE",
    "UP",
    "RIGHT",
    "LEFT",
    "DOWN",
    "UPRIGHT",
    "UPLEFT",
    "DOWNRIGHT",
    "DOWNLEFT",
    "UPFIRE",
    "RIGHTFIRE",
    "LEFTFIRE",
    "DOWNFIRE",
    "UPRIGHTFIRE",
    "UPLEFTFIRE",
    "DOWNRIGHTFIRE",
    "DOWNLEFTFIRE",
];

/// A game known by its canonical name and ROM id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtariGame {
    pub name: &'static str,
    pub rom_id: &'static str,
}

impl AtariGame {
    /// Looks a game up by name ("MsPacman") or ROM id ("ms_pacman"), ignoring case.
    pub fn find(name: &str) -> Result<Self, EnvError> {
        ATARI_100K_GAMES
            .iter()
            .find(|(game, rom)| game.eq_ignore_ascii_case(name) || rom.eq_ignore_ascii_case(name))
            .map(|&(name, rom_id)| Self { name, rom_id })
            .ok_or_else(|| EnvError::UnknownGame {
                name: name.to_string(),
                known: ATARI_100K_GAMES.map(|(game, _)| game).join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_games_by_name_or_rom_id() {
        assert_eq!(AtariGame::find("UpNDown").unwrap().rom_id, "up_n_down");
        assert_eq!(AtariGame::find("ms_pacman").unwrap().name, "MsPacman");
        assert_eq!(AtariGame::find("breakout").unwrap().name, "Breakout");
    }
}
