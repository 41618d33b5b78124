//! Checkpoints: models, optimiser states, the episode store and the trainer's own
//! state, in a folder per epoch. Every file is written through a temporary file
//! and a rename, and carries a length and a checksum, so a crash never leaves a
//! half-written checkpoint and a damaged one is reported, never loaded.
//! `checkpoints/latest` names the newest complete checkpoint; it is switched only
//! after everything it points to is on disk.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Record, Recorder};
use burn::tensor::backend::Backend;
use rem_envs::durable::{write_atomically, Checksum};

const MAGIC: &[u8; 8] = b"REMCKPT1";

/// Where checkpoints live inside a run folder.
pub fn checkpoints_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("checkpoints")
}

/// The folder of the newest complete checkpoint, if any.
pub fn latest(run_dir: &Path) -> Result<Option<PathBuf>> {
    let pointer = checkpoints_dir(run_dir).join("latest");
    if !pointer.exists() {
        return Ok(None);
    }
    let name = std::fs::read_to_string(&pointer)
        .with_context(|| format!("cannot read {}", pointer.display()))?;
    let dir = checkpoints_dir(run_dir).join(name.trim());
    if !dir.is_dir() {
        bail!(
            "{} names {}, which does not exist",
            pointer.display(),
            dir.display()
        );
    }
    Ok(Some(dir))
}

/// A checkpoint folder being written; `commit` makes it the latest.
pub struct CheckpointWriter {
    run_dir: PathBuf,
    name: String,
    dir: PathBuf,
}

impl CheckpointWriter {
    pub fn begin(run_dir: &Path, epoch: usize) -> Result<Self> {
        let name = format!("epoch-{epoch:06}");
        let dir = checkpoints_dir(run_dir).join(&name);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Self {
            run_dir: run_dir.to_path_buf(),
            name,
            dir,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `bytes` framed with a magic, a length and a checksum.
    pub fn write_bytes(&self, file: &str, bytes: &[u8]) -> Result<()> {
        write_framed(&self.dir.join(file), bytes)
    }

    /// Writes a burn record (module or optimiser state).
    pub fn write_record<B: Backend, R: Record<B>>(&self, file: &str, record: R) -> Result<()> {
        let bytes = BinBytesRecorder::<FullPrecisionSettings>::default()
            .record(record, ())
            .map_err(|e| anyhow::anyhow!("cannot serialise {file}: {e}"))?;
        self.write_bytes(file, &bytes)
    }

    /// Points `latest` here, then removes older checkpoints.
    pub fn commit(self) -> Result<()> {
        let root = checkpoints_dir(&self.run_dir);
        write_atomically(&root.join("latest"), |w| w.write_all(self.name.as_bytes()))?;
        for entry in std::fs::read_dir(&root)? {
            let path = entry?.path();
            let is_old = path.is_dir() && path.file_name().is_some_and(|n| *n != *self.name);
            if is_old {
                std::fs::remove_dir_all(&path)?;
            }
        }
        Ok(())
    }
}

/// Reads a file written by [`CheckpointWriter::write_bytes`], checking it whole.
pub fn read_bytes(dir: &Path, file: &str) -> Result<Vec<u8>> {
    let path = dir.join(file);
    let data = std::fs::read(&path)
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

/// Reads a burn record written by [`CheckpointWriter::write_record`].
pub fn read_record<B: Backend, R: Record<B>>(
    dir: &Path,
    file: &str,
    device: &B::Device,
) -> Result<R> {
    let bytes = read_bytes(dir, file)?;
    let misfit = |why: String| {
        anyhow::anyhow!(
            "checkpoint file {} does not fit this model: {why}",
            dir.join(file).display()
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

fn write_framed(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically(path, |w| {
        w.write_all(MAGIC)?;
        w.write_all(&(bytes.len() as u64).to_le_bytes())?;
        w.write_all(bytes)?;
        w.write_all(&checksum(bytes).to_le_bytes())
    })
    .with_context(|| format!("cannot write {}", path.display()))
}

fn checksum(bytes: &[u8]) -> u64 {
    let mut sum = Checksum::new();
    sum.update(bytes);
    sum.finish()
}
