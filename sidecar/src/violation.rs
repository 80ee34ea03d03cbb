//! A field violation, the sidecar's vocabulary for "this input field is
//! wrong": handlers, apply and the gRPC mapping share it. A leaf.

/// A field violation: which input field is wrong and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Path of the bad field, e.g. `spec.parameters.storageGB`.
    pub field: String,
    /// What is wrong with it.
    pub description: String,
}
