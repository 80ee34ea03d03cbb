//! The one entry point from a definition document to the Backstage entities
//! generated for it: a Template and an API. The sidecar and the CLI call
//! only this.
use serde_json::Value;

use crate::definition::{self, Definition};
use crate::{api, template};

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
    /// The definition could not be read.
    #[error(transparent)]
    ReadDefinition(#[from] definition::Error),
}

/// Converts one definition document into its Template and API entities.
pub fn for_entities(doc: &Value) -> Result<Converted, Error> {
    let definition = definition::for_document(doc)?;
    Ok(Converted {
        template: template::for_template(&definition),
        api: api::for_api(&definition),
        definition,
        warnings: Vec::new(),
    })
}
