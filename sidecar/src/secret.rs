//! A secret value (token, private key) that never reaches a log: its
//! `Debug` output is redacted. A leaf, so every feature can hold one
//! without importing the configuration.
use std::path::PathBuf;

/// A secret value whose `Debug` output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Where a secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// A file (re-read on use, so a rotated Kubernetes secret is picked up).
    File(PathBuf),
    /// An environment variable, by name.
    Env(String),
}

impl SecretSource {
    /// Reads the secret. Errors name the source, never the value.
    pub fn read(&self) -> Result<Secret, ReadError> {
        let value = match self {
            Self::File(path) => std::fs::read_to_string(path).map_err(|e| ReadError {
                source_name: format!("file `{}`", path.display()),
                message: e.kind().to_string(),
            })?,
            Self::Env(name) => std::env::var(name).map_err(|_| ReadError {
                source_name: format!("environment variable `{name}`"),
                message: "not set or not UTF-8".into(),
            })?,
        };
        let value = value.trim();
        if value.is_empty() {
            return Err(ReadError {
                source_name: self.describe(),
                message: "empty".into(),
            });
        }
        Ok(Secret::new(value))
    }

    fn describe(&self) -> String {
        match self {
            Self::File(path) => format!("file `{}`", path.display()),
            Self::Env(name) => format!("environment variable `{name}`"),
        }
    }
}

/// A secret that could not be read; names the source, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read the credential from {source_name}: {message}")]
pub struct ReadError {
    source_name: String,
    message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_is_redacted() {
        assert_eq!(
            format!("{:?}", Secret::new("hunter2")),
            "Secret(<redacted>)"
        );
    }
}
