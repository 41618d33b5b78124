//! The binary pipe protocol between Rust and the ALE worker (`ale_worker.py`).
//!
//! Every message starts with a fixed 16-byte little-endian header, so one agent step
//! is one small write and one read of header plus raw screens; no text is parsed on
//! the hot path.
//!
//! Request (Rust -> worker), Python `struct` format `<BBBBIQ`:
//!   op: u8 | action: u8 | flags: u8 | slot: u8 | arg: u32 | seed: u64
//! - `slot` names one of the worker's games (an ALE instance each), so one process
//!   serves up to 256 environments.
//! - `LOAD`: `arg` = byte length of the ROM id that follows, `seed` = ALE seed.
//!   Loads (or reloads) the ROM into the slot, creating its emulator if new, with no
//!   sticky actions and the minimal action set.
//! - `RESET`: resets the slot's game.
//! - `STEP`: repeats minimal action `action` for up to `arg` raw frames, stopping at
//!   game over. `flags & FLAG_PREVIOUS_SCREEN` also asks for the screen of the
//!   planned second-to-last frame.
//! - `CLOSE`: the worker answers and exits.
//!
//! Reply (worker -> Rust), Python `struct` format `<BBBxiII`:
//!   status: u8 | game_over: u8 | screens: u8 | pad: u8 | reward: i32 | lives: u32 | value: u32
//! - hello (sent once at start): `lives` = `HELLO_MAGIC`, `value` = `PROTOCOL_VERSION`.
//! - `LOAD`: `value` = payload length; payload = width u16, height u16, action ids u8...
//! - `STEP`: `value` = raw frames run, `reward` = their summed reward; then `screens`
//!   raw RGB screens (height x width x 3, oldest first).
//! - errors: `status` != `STATUS_OK`, `value` = length of the UTF-8 message that follows.

pub const PROTOCOL_VERSION: u32 = 2;
pub const HELLO_MAGIC: u32 = u32::from_le_bytes(*b"REMA");
pub const HEADER_BYTES: usize = 16;

pub const OP_LOAD: u8 = 1;
pub const OP_RESET: u8 = 2;
pub const OP_STEP: u8 = 3;
pub const OP_CLOSE: u8 = 4;

pub const FLAG_PREVIOUS_SCREEN: u8 = 1;

pub const STATUS_OK: u8 = 0;
pub const STATUS_ERROR: u8 = 1;
/// The worker's Python could not import ale-py (or numpy).
pub const STATUS_MISSING_ALE: u8 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub op: u8,
    pub action: u8,
    pub flags: u8,
    pub slot: u8,
    pub arg: u32,
    pub seed: u64,
}

impl Request {
    pub fn load(slot: u8, rom_id_len: usize, seed: u64) -> Self {
        Self {
            op: OP_LOAD,
            action: 0,
            flags: 0,
            slot,
            arg: rom_id_len as u32,
            seed,
        }
    }

    pub fn reset(slot: u8) -> Self {
        Self {
            op: OP_RESET,
            action: 0,
            flags: 0,
            slot,
            arg: 0,
            seed: 0,
        }
    }

    pub fn step(slot: u8, action: u8, max_frames: u32, previous_screen: bool) -> Self {
        let flags = if previous_screen {
            FLAG_PREVIOUS_SCREEN
        } else {
            0
        };
        Self {
            op: OP_STEP,
            action,
            flags,
            slot,
            arg: max_frames,
            seed: 0,
        }
    }

    pub fn close() -> Self {
        Self {
            op: OP_CLOSE,
            action: 0,
            flags: 0,
            slot: 0,
            arg: 0,
            seed: 0,
        }
    }

    pub fn encode(&self) -> [u8; HEADER_BYTES] {
        let mut b = [0u8; HEADER_BYTES];
        b[0] = self.op;
        b[1] = self.action;
        b[2] = self.flags;
        b[3] = self.slot;
        b[4..8].copy_from_slice(&self.arg.to_le_bytes());
        b[8..16].copy_from_slice(&self.seed.to_le_bytes());
        b
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    pub status: u8,
    pub game_over: bool,
    pub screens: u8,
    pub reward: i32,
    pub lives: u32,
    pub value: u32,
}

impl Reply {
    pub fn decode(b: &[u8; HEADER_BYTES]) -> Self {
        let word = |i: usize| [b[i], b[i + 1], b[i + 2], b[i + 3]];
        Self {
            status: b[0],
            game_over: b[1] != 0,
            screens: b[2],
            reward: i32::from_le_bytes(word(4)),
            lives: u32::from_le_bytes(word(8)),
            value: u32::from_le_bytes(word(12)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_layout_is_little_endian() {
        let b = Request::step(7, 3, 4, true).encode();
        assert_eq!(
            b,
            [
                OP_STEP,
                3,
                FLAG_PREVIOUS_SCREEN,
                7,
                4,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0
            ]
        );
        let b = Request::load(0, 8, 0x0102).encode();
        assert_eq!(&b[4..10], &[8, 0, 0, 0, 2, 1]);
    }

    #[test]
    fn reply_decodes_signed_reward() {
        let mut b = [0u8; HEADER_BYTES];
        b[1] = 1;
        b[2] = 2;
        b[4..8].copy_from_slice(&(-3i32).to_le_bytes());
        b[8..12].copy_from_slice(&5u32.to_le_bytes());
        b[12..16].copy_from_slice(&4u32.to_le_bytes());
        let r = Reply::decode(&b);
        assert_eq!(
            r,
            Reply {
                status: 0,
                game_over: true,
                screens: 2,
                reward: -3,
                lives: 5,
                value: 4
            }
        );
    }
}
