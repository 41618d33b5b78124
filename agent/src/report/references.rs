//! Reference scores: random and human play per Atari game, REM's per-seed means,
//! and where their files are found.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

use super::statistics::mean;

/// Environment variable naming the folder of reference score files.
pub const DATA_DIR_VARIABLE: &str = "REM_DATA_DIR";

/// Reference scores per Atari game: random and human play, and REM's per-seed means.
/// The default holds none, which is all that native games need.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct References {
    pub dir: PathBuf,
    pub random: BTreeMap<String, f64>,
    pub human: BTreeMap<String, f64>,
    pub rem: BTreeMap<String, Vec<f64>>,
}

/// The reference folder: `$REM_DATA_DIR` when set, else the first of
/// `../shared/data/atari100k` from the current folder and from the repository.
pub fn reference_data_dir() -> Result<PathBuf> {
    // The current folder is made absolute so that an error names a place one can check.
    let candidates = [
        std::env::current_dir()
            .unwrap_or_default()
            .join("../shared/data/atari100k"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/atari100k"),
    ];
    locate_reference_dir(
        std::env::var_os(DATA_DIR_VARIABLE).map(PathBuf::from),
        &candidates,
    )
}

/// An explicit folder must exist; otherwise the first existing candidate wins.
pub fn locate_reference_dir(explicit: Option<PathBuf>, candidates: &[PathBuf]) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        ensure!(
            dir.is_dir(),
            "reference score folder {} (from {DATA_DIR_VARIABLE}) does not exist",
            dir.display()
        );
        return Ok(dir);
    }
    if let Some(dir) = candidates.iter().find(|dir| dir.is_dir()) {
        return Ok(dir.clone());
    }
    let looked: Vec<String> = candidates
        .iter()
        .map(|dir| dir.display().to_string())
        .collect();
    bail!(
        "no reference score folder found; looked in {} (set {DATA_DIR_VARIABLE} to choose one)",
        looked.join(", ")
    )
}

impl References {
    /// Reads `RANDOM.json`, `HUMAN.json` and `REM.json` (game -> list of scores) from `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let single = |name: &str| -> Result<BTreeMap<String, f64>> {
            Ok(read_score_lists(&dir.join(name))?
                .into_iter()
                .map(|(game, scores)| (game, mean(&scores)))
                .collect())
        };
        let references = References {
            dir: dir.to_path_buf(),
            random: single("RANDOM.json")?,
            human: single("HUMAN.json")?,
            rem: read_score_lists(&dir.join("REM.json"))?,
        };
        for (game, human) in &references.human {
            let random = references.random.get(game).with_context(|| {
                format!(
                    "{}: '{game}' is in HUMAN.json but not RANDOM.json",
                    dir.display()
                )
            })?;
            ensure!(
                human != random,
                "{}: human and random scores of '{game}' are equal",
                dir.display()
            );
        }
        Ok(references)
    }

    /// (score - random) / (human - random), for games with both references.
    pub fn normalise(&self, game: &str, score: f64) -> Option<f64> {
        let (random, human) = (self.random.get(game)?, self.human.get(game)?);
        Some((score - random) / (human - random))
    }
}

/// A JSON object of game -> scores, where a score may be one number or a list.
fn read_score_lists(path: &Path) -> Result<BTreeMap<String, Vec<f64>>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read reference scores {}", path.display()))?;
    let table: BTreeMap<String, Value> = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a JSON object", path.display()))?;
    table
        .into_iter()
        .map(|(game, value)| {
            let scores = match &value {
                Value::Array(list) => list.iter().map(Value::as_f64).collect::<Option<Vec<_>>>(),
                single => single.as_f64().map(|score| vec![score]),
            };
            match scores {
                Some(scores) if !scores.is_empty() => Ok((game, scores)),
                _ => bail!(
                    "{}: scores of '{game}' are not a number or a non-empty list of numbers",
                    path.display()
                ),
            }
        })
        .collect()
}
