//! The crate's errors: a config that cannot be built, and input of the wrong shape.
//! Builders (`init`) panic with the same message; call `validate` first to handle it.

/// Why a model's config cannot be built: which model, and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {model} config: {reason}")]
pub struct ConfigError {
    /// The model the config builds: "tokenizer", "RetNet" or "retention".
    pub model: &'static str,
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(model: &'static str, reason: impl Into<String>) -> Self {
        Self {
            model,
            reason: reason.into(),
        }
    }
}
