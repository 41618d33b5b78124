//! The file format of a checkpoint's parts: a magic, the payload's length, the
//! payload and its checksum, written through a temporary file and a rename. A crash
//! never leaves half a file, and a damaged file is reported, never loaded. Which
//! files a checkpoint holds is [`crate::run_folder`]'s business.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Record, Recorder};
use burn::tensor::backend::Backend;
use rem_envs::durable::{write_atomically, Checksum};

const MAGIC: &[u8; 8] = b"REMCKPT1";

/// Writes `bytes` framed with the magic, their length and their checksum.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically(path, |w| {
        w.write_all(MAGIC)?;
        w.write_all(&(bytes.len() as u64).to_le_bytes())?;
        w.write_all(bytes)?;
        w.write_all(&checksum(bytes).to_le_bytes())
    })
    .with_context(|| format!("cannot write {}", path.display()))
}

/// Writes a burn record (a module's or an optimiser's state).
pub fn write_record<B: Backend, R: Record<B>>(path: &Path, record: R) -> Result<()> {
    let bytes = BinBytesRecorder::<FullPrecisionSettings>::default()
        .record(record, ())
        .map_err(|e| anyhow::anyhow!("cannot serialise {}: {e}", path.display()))?;
    write_bytes(path, &bytes)
}

/// Reads a file written by [`write_bytes`], checking it whole.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let data = std::fs::read(path)
        .with_context(|| format!("cannot read checkpoint file {}", path.display()))?;
    let damaged =
        |why: &str| anyhow::anyhow!("checkpoint file {} is damaged: {why}", path.display());
    if data.len() < 24 || &data[..8] != MAGIC {
        return Err(damaged("not a rem checkpoint file"));
    }
    let len = u64::from_le_bytes(data[8..16].try_into().expect("8 bytes")) as usize;
    if data.len() != 24 + len {
        return Err(damaged("truncated or extended"));
    }
    let payload = &data[16..16 + len];
    let stored = u64::from_le_bytes(data[16 + len..].try_into().expect("8 bytes"));
    if checksum(payload) != stored {
        return Err(damaged("checksum mismatch"));
    }
    Ok(payload.to_vec())
}

/// Reads a burn record written by [`write_record`].
pub fn read_record<B: Backend, R: Record<B>>(path: &Path, device: &B::Device) -> Result<R> {
    let bytes = read_bytes(path)?;
    let misfit = |why: String| {
        anyhow::anyhow!(
            "checkpoint file {} does not fit this model: {why}",
            path.display()
        )
    };
    // burn's decoder panics on a record of another shape: keep that a plain error.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        BinBytesRecorder::<FullPrecisionSettings>::default().load(bytes, device)
    }));
    std::panic::set_hook(hook);
    match loaded {
        Ok(Ok(record)) => Ok(record),
        Ok(Err(e)) => Err(misfit(e.to_string())),
        Err(_) => Err(misfit("its contents do not decode".into())),
    }
}

fn checksum(bytes: &[u8]) -> u64 {
    let mut sum = Checksum::new();
    sum.update(bytes);
    sum.finish()
}
