//! The vocabulary every converter shares: a non-fatal note about accepted
//! input. A leaf module, so converters can report without importing the
//! entry point that calls them.

/// A non-fatal note about the conversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Document path the note is about.
    pub path: String,
    /// What happened.
    pub message: String,
}
