//! Crossplane's own fields in the `spec` of a claim or XR (from its
//! `xcrd` package: the props it adds to the CRDs it generates), and the
//! values its policy fields take. The one list the form (hides them), claim
//! validation (refuses them as values) and the edit link (leaves them out)
//! all read.
use super::{Definition, Scope, Source};

/// A claim's: `xcrd`'s claim spec props, plus `resourceRefs` and `claimRef`,
/// which its XR carries under the same spec.
const CLAIM: [&str; 11] = [
    "compositionRef",
    "compositionSelector",
    "compositionUpdatePolicy",
    "compositionRevisionRef",
    "compositionRevisionSelector",
    "compositeDeletePolicy",
    "resourceRef",
    "resourceRefs",
    "claimRef",
    "writeConnectionSecretToRef",
    "publishConnectionDetailsTo",
];

/// A legacy (`LegacyCluster`) XR's: `xcrd`'s composite spec props.
const LEGACY_XR: [&str; 11] = [
    "compositionRef",
    "compositionSelector",
    "compositionUpdatePolicy",
    "compositionRevisionRef",
    "compositionRevisionSelector",
    "claimRef",
    "environmentConfigRefs",
    "resourceRef",
    "resourceRefs",
    "writeConnectionSecretToRef",
    "publishConnectionDetailsTo",
];

/// Crossplane's `compositionUpdatePolicy` values.
pub const UPDATE_POLICIES: [&str; 2] = ["Automatic", "Manual"];

/// Crossplane's `compositeDeletePolicy` values (claims only).
pub const DELETE_POLICIES: [&str; 2] = ["Background", "Foreground"];

impl Definition {
    /// The top-level `spec` fields that are Crossplane's, not the user's,
    /// for the kind users create: v2 XRs keep everything under
    /// `spec.crossplane`; KRO and Kratix add none.
    pub fn reserved_fields(&self) -> &'static [&'static str] {
        match (self.source, self.scope) {
            (Source::Rgd | Source::Promise, _) => &[],
            _ if self.is_claim() => &CLAIM,
            (_, Scope::LegacyCluster) => &LEGACY_XR,
            (_, Scope::Namespaced | Scope::Cluster) => &["crossplane"],
        }
    }
}
