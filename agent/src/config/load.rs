//! Reading a run configuration: TOML files and the `base` files they start from, laid
//! over the spec's defaults, then `--set key=value` overrides, then the checks.

use anyhow::{anyhow, bail, Context, Result};
use std::path::{Path, PathBuf};

use super::RunConfig;

impl RunConfig {
    /// Reads a TOML file, applies `key=value` overrides (dotted keys, TOML values)
    /// and checks the result. Every error names the file or the override.
    ///
    /// A file may start from another: `base = "UpNDown.toml"` (a path relative to the
    /// file) lays the file's keys over that file's, which may have a base of its own.
    ///
    /// Its game must exist here (a saved run's config opens whatever its game:
    /// [`load_written`](Self::load_written)).
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        let config = Self::over_defaults(path, read_with_bases(path, &mut Vec::new())?, overrides)?;
        rem_envs::check_game(&config.env.game)
            .with_context(|| format!("invalid config {}", path.display()))?;
        Ok(config)
    }

    /// A run folder's config.toml, read as [`load`](Self::load) reads a file, except
    /// that one without `tokenizer.perceptual` (written before LPIPS became the spec's
    /// term) trained with none, then the default: it still means none.
    pub fn load_written(path: &Path, overrides: &[String]) -> Result<Self> {
        let mut file = read_with_bases(path, &mut Vec::new())?;
        if let Some(toml::Value::Table(tokenizer)) = file.get_mut("tokenizer") {
            tokenizer
                .entry("perceptual")
                .or_insert_with(|| "none".into());
        }
        Self::over_defaults(path, file, overrides)
    }

    /// `file` (read from `path`) laid over the spec's defaults, with `overrides`,
    /// checked. Defaults first, the file over them: unknown keys survive the merge and
    /// are then rejected by `deny_unknown_fields`.
    fn over_defaults(path: &Path, file: toml::Table, overrides: &[String]) -> Result<Self> {
        let mut table = Self::default_table();
        merge(&mut table, file);
        Self::from_table(table, overrides, &path.display().to_string())
    }

    /// The spec's configuration with `key=value` overrides, checked.
    pub fn spec(overrides: &[String]) -> Result<Self> {
        Self::from_table(Self::default_table(), overrides, "the spec's config")
    }

    /// This config with `key=value` overrides, checked (a probe's `--set` on a run).
    pub fn with_overrides(&self, overrides: &[String]) -> Result<Self> {
        Self::from_table(self.to_table(), overrides, "the run's config")
    }

    /// `table` with `overrides` applied, as a checked config; errors name `source`.
    fn from_table(mut table: toml::Table, overrides: &[String], source: &str) -> Result<Self> {
        for item in overrides {
            apply_override(&mut table, item)?;
        }
        let config: RunConfig = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| anyhow!("{source}: {}", one_line(&e)))?;
        config
            .validate()
            .with_context(|| format!("invalid config {source}"))?;
        Ok(config)
    }

    fn default_table() -> toml::Table {
        Self::default().to_table()
    }

    fn to_table(&self) -> toml::Table {
        match toml::Value::try_from(self).expect("a RunConfig always serialises") {
            toml::Value::Table(t) => t,
            _ => unreachable!("a struct serialises to a table"),
        }
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a RunConfig always serialises")
    }
}

/// The keys of the file at `path` laid over those of its `base` chain; `chain` holds
/// the files that named it, so that a file reached twice is refused, not looped on.
fn read_with_bases(path: &Path, chain: &mut Vec<PathBuf>) -> Result<toml::Table> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config {}", path.display()))?;
    let mut file: toml::Table = text
        .parse()
        .map_err(|e| anyhow!("{}: {}", path.display(), one_line(&e)))?;
    let Some(base) = file.remove(BASE_KEY) else {
        return Ok(file);
    };
    let Some(base) = base.as_str() else {
        bail!(
            "{}: {BASE_KEY} must be a file name, e.g. {BASE_KEY} = \"UpNDown.toml\"",
            path.display()
        );
    };
    let base = path.parent().unwrap_or(Path::new("")).join(base);
    // Compared by canonical path: "a/../b.toml" and "b.toml" are the same file.
    let here = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    chain.push(here);
    if std::fs::canonicalize(&base).is_ok_and(|b| chain.contains(&b)) {
        bail!(
            "{}: {BASE_KEY} {} is a file that this one already starts from (a loop)",
            path.display(),
            base.display()
        );
    }
    let mut table =
        read_with_bases(&base, chain).with_context(|| format!("base of {}", path.display()))?;
    merge(&mut table, file);
    Ok(table)
}

/// The top-level key naming the file that a run config starts from.
const BASE_KEY: &str = "base";

/// Recursively lays `over` onto `base`: tables merge, everything else replaces.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// `a.b.c=value`: the value is parsed as TOML, falling back to a bare string.
fn apply_override(table: &mut toml::Table, item: &str) -> Result<()> {
    let (key, raw) = item
        .split_once('=')
        .ok_or_else(|| anyhow!("--set {item:?}: expected key=value"))?;
    let value: toml::Value = format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()));
    let parts: Vec<&str> = key.trim().split('.').collect();
    let (last, parents) = parts.split_last().expect("split yields at least one part");
    let mut node = table;
    for part in parents {
        node = node
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| anyhow!("--set {item:?}: {part} is not a table"))?;
    }
    node.insert(last.to_string(), value);
    Ok(())
}

fn one_line(e: &impl std::fmt::Display) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
