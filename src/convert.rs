//! The one entry point from a definition document to the Backstage entities
//! generated for it: a Template and an API. The sidecar and the CLI call
//! only this.
use serde_json::Value;

use crate::definition::{self, Definition};
use crate::{api, template};

pub use crate::template::Options;

/// A non-fatal note about the conversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Document path the note is about.
    pub path: String,
    /// What happened.
    pub message: String,
}

/// The entities generated for one definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    /// The normalised definition.
    pub definition: Definition,
    /// `scaffolder.backstage.io/v1beta3` Template.
    pub template: Value,
    /// `backstage.io/v1alpha1` API.
    pub api: Value,
    /// Notes about input that was accepted with a change.
    pub warnings: Vec<Warning>,
}

/// Errors from converting a definition.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The definition could not be read, or its schema not mapped (the
    /// path then points into the schema, e.g. `spec.parameters.size.type`).
    #[error(transparent)]
    ReadDefinition(#[from] definition::Error),
}

impl Error {
    /// The document or schema path the error points at.
    pub fn path(&self) -> &str {
        match self {
            Error::ReadDefinition(e) => e.path(),
        }
    }
}

/// Converts one definition document into its Template and API entities.
pub fn for_entities(doc: &Value) -> Result<Converted, Error> {
    for_entities_with(doc, &Options::default())
}

/// Like [`for_entities`], with the operator's options (known compositions,
/// direct apply, fixed repository, default owner).
pub fn for_entities_with(doc: &Value, opts: &Options) -> Result<Converted, Error> {
    let definition = definition::for_document(doc)?;
    let generated = template::for_template_with(&definition, opts)?;
    Ok(Converted {
        api: api::for_api_with(&definition, opts),
        template: generated.template,
        definition,
        warnings: generated.warnings,
    })
}
