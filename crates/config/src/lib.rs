//! OpenMetadata-compatible configuration for ferrometa.
//!
//! Precedence: built-in defaults < YAML file (after `${VAR:-default}` substitution) < environment
//! variables. Every key, env var and default lives in [`keys::KEYS`].

pub mod keys;
mod load;
pub mod model;
mod validate;

pub use load::{ConfigError, Problem, RawConfig, Source, substitute};
pub use model::*;

use std::path::Path;

/// A validated configuration together with its raw form (for the redacted dump).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub raw: RawConfig,
}

/// Loads from an optional file and an environment lookup (injected so tests need no process env).
pub fn load(file: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> Result<Loaded, ConfigError> {
    let raw = RawConfig::load(file, env)?;
    let config = validate::validate(&raw, env)?;
    Ok(Loaded { config, raw })
}

/// Loads from the process environment.
pub fn load_from_env(file: Option<&Path>) -> Result<Loaded, ConfigError> {
    load(file, &|k| std::env::var(k).ok())
}

impl Config {
    /// Defaults only (no file, no env): what `ferrometa serve` uses on a fresh machine.
    pub fn defaults() -> Config {
        load(None, &|_| None).expect("built-in defaults are valid").config
    }
}
