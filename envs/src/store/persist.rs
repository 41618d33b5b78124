//! Writing and reading an episode store, for checkpoints.
//!
//! Layout, little-endian:
//!
//! ```text
//! MAGIC                 8 bytes
//! version               u32        -+
//! payload_len           u64         |  covered by the checksum
//! payload:                          |
//!   max_bytes           u64         |
//!   dropped_episodes    u64         |
//!   records             u64         |
//!   per record: env_id u64 (u64::MAX for a completed episode), len u64,
//!     actions [u32; len], rewards [f32; len], flags [u8; len],
//!     frames [u8; len * 64 * 64 * 3]                                 -+
//! checksum              u64
//! ```
//!
//! The checksum is FNV-1a over 64-bit words: any single changed word changes it.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use super::episode::{Episode, KNOWN_FLAGS, STEP_BYTES};
use super::{EpisodeStore, StoreError};
use crate::durable::{write_atomically, Checksum};
use crate::frame::FRAME_BYTES;

pub const MAGIC: [u8; 8] = *b"REMEPSTO";
pub const FORMAT_VERSION: u32 = 1;
const COMPLETED: u64 = u64::MAX;
const PAYLOAD_HEADER_BYTES: u64 = 24;
const RECORD_HEADER_BYTES: u64 = 16;

struct HashingWriter<'a, W: Write> {
    inner: &'a mut W,
    sum: Checksum,
}

impl<W: Write> HashingWriter<'_, W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.sum.update(bytes);
        self.inner.write_all(bytes)
    }

    fn put_u64(&mut self, value: u64) -> io::Result<()> {
        self.put(&value.to_le_bytes())
    }
}

struct HashingReader<'a, R: Read> {
    inner: &'a mut R,
    sum: Checksum,
    /// Payload bytes not read yet.
    remaining: u64,
}

impl<R: Read> HashingReader<'_, R> {
    fn take(&mut self, buf: &mut [u8]) -> Result<(), StoreError> {
        self.remaining = self
            .remaining
            .checked_sub(buf.len() as u64)
            .ok_or_else(|| {
                StoreError::Corrupt("a record runs past the declared payload size".into())
            })?;
        read_exact(self.inner, buf)?;
        self.sum.update(buf);
        Ok(())
    }

    fn take_vec(&mut self, len: usize) -> Result<Vec<u8>, StoreError> {
        let mut buf = vec![0; len];
        self.take(&mut buf)?;
        Ok(buf)
    }

    fn take_u64(&mut self) -> Result<u64, StoreError> {
        let mut buf = [0; 8];
        self.take(&mut buf)?;
        Ok(u64::from_le_bytes(buf))
    }
}

fn read_exact(r: &mut impl Read, buf: &mut [u8]) -> Result<(), StoreError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => StoreError::Truncated,
        _ => StoreError::Io(e),
    })
}

fn words<const N: usize>(bytes: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    bytes
        .chunks_exact(N)
        .map(|c| c.try_into().expect("chunk of N bytes"))
}

impl EpisodeStore {
    /// Writes the whole store (completed and in-progress episodes) in the format
    /// described in this module. Wrap files in a `BufWriter`.
    pub fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(&MAGIC)?;
        let records: Vec<(u64, &Episode)> = self
            .complete
            .iter()
            .map(|e| (COMPLETED, e))
            .chain(self.open.iter().map(|(&id, e)| (id as u64, e)))
            .collect();
        let payload_len = PAYLOAD_HEADER_BYTES
            + records
                .iter()
                .map(|(_, e)| RECORD_HEADER_BYTES + (e.len() * STEP_BYTES) as u64)
                .sum::<u64>();

        let mut out = HashingWriter {
            inner: w,
            sum: Checksum::new(),
        };
        out.put(&FORMAT_VERSION.to_le_bytes())?;
        out.put_u64(payload_len)?;
        out.put_u64(self.max_bytes as u64)?;
        out.put_u64(self.dropped_episodes)?;
        out.put_u64(records.len() as u64)?;
        for (env_id, episode) in records {
            out.put_u64(env_id)?;
            out.put_u64(episode.len() as u64)?;
            let mut columns = Vec::with_capacity(episode.len() * 9);
            columns.extend(episode.actions.iter().flat_map(|a| a.to_le_bytes()));
            columns.extend(episode.rewards.iter().flat_map(|r| r.to_le_bytes()));
            columns.extend_from_slice(&episode.flags);
            out.put(&columns)?;
            out.put(&episode.frames)?;
        }
        let checksum = out.sum.finish();
        w.write_all(&checksum.to_le_bytes())
    }

    /// Reads a store written by `write_to`, verifying the header, the declared size
    /// and the checksum; a truncated or corrupt file gives an error, never a panic.
    pub fn read_from(r: &mut impl Read) -> Result<Self, StoreError> {
        let mut magic = [0; 8];
        read_exact(r, &mut magic)?;
        if magic != MAGIC {
            return Err(StoreError::BadMagic);
        }
        let mut header = [0; 12];
        read_exact(r, &mut header)?;
        let version = u32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
        if version != FORMAT_VERSION {
            return Err(StoreError::UnsupportedVersion {
                found: version,
                expected: FORMAT_VERSION,
            });
        }
        let payload_len = u64::from_le_bytes(header[4..].try_into().expect("8 bytes"));
        let mut sum = Checksum::new();
        sum.update(&header);
        let mut input = HashingReader {
            inner: r,
            sum,
            remaining: payload_len,
        };

        let mut store = EpisodeStore::new(usize::try_from(input.take_u64()?).unwrap_or(usize::MAX));
        store.dropped_episodes = input.take_u64()?;
        let records = input.take_u64()?;
        for _ in 0..records {
            let env_id = input.take_u64()?;
            let episode = read_episode(&mut input)?;
            store.steps += episode.len();
            if env_id == COMPLETED {
                store.complete.push_back(episode);
            } else {
                let id = usize::try_from(env_id).map_err(|_| {
                    StoreError::Corrupt(format!("environment id {env_id} is out of range"))
                })?;
                if store.open.insert(id, episode).is_some() {
                    return Err(StoreError::Corrupt(format!(
                        "two episodes in progress for environment {id}"
                    )));
                }
            }
        }
        if input.remaining != 0 {
            return Err(StoreError::Corrupt(format!(
                "{} payload bytes left after the last record",
                input.remaining
            )));
        }
        let computed = input.sum.finish();
        let mut stored = [0; 8];
        read_exact(r, &mut stored)?;
        let stored = u64::from_le_bytes(stored);
        if stored != computed {
            return Err(StoreError::ChecksumMismatch { stored, computed });
        }
        Ok(store)
    }

    /// Writes the store to `path` through a temporary file and a rename, so an
    /// interrupted save never leaves a half-written file at `path`.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        write_atomically(path, |w| self.write_to(w))
    }

    /// Reads a store saved with `save`.
    pub fn load(path: &Path) -> Result<Self, StoreError> {
        Self::read_from(&mut BufReader::new(File::open(path)?))
    }
}

fn read_episode<R: Read>(input: &mut HashingReader<'_, R>) -> Result<Episode, StoreError> {
    let len = input.take_u64()?;
    // Checked before allocating, so a corrupt length cannot request huge buffers.
    let fits = len
        .checked_mul(STEP_BYTES as u64)
        .is_some_and(|bytes| bytes <= input.remaining);
    if len == 0 || !fits {
        return Err(StoreError::Corrupt(format!(
            "an episode claims {len} steps with {} payload bytes left",
            input.remaining
        )));
    }
    let len = len as usize;
    let actions = words::<4>(&input.take_vec(len * 4)?)
        .map(u32::from_le_bytes)
        .collect();
    let rewards = words::<4>(&input.take_vec(len * 4)?)
        .map(f32::from_le_bytes)
        .collect();
    let flags = input.take_vec(len)?;
    if flags.iter().any(|f| f & !KNOWN_FLAGS != 0) {
        return Err(StoreError::Corrupt("unknown step flags".into()));
    }
    let frames = input.take_vec(len * FRAME_BYTES)?;
    Ok(Episode {
        frames,
        actions,
        rewards,
        flags,
    })
}
