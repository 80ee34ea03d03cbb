//! The one entry point from a definition document to the Backstage entities
//! generated for it: a Template and an API. The sidecar and the CLI call
//! only this.
use serde_json::Value;

use crate::definition::{self, Definition};
use crate::{annotations, api, template};

pub use crate::options::Options;
pub use crate::warning::Warning;

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
    /// Which of the two entities the catalog lists.
    pub catalog: annotations::CatalogMode,
    /// The Compositions the Template offers (the options' list).
    pub compositions: Vec<String>,
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
    from_definition(definition::for_document(doc)?, opts)
}

/// Like [`for_entities_with`], consuming the document: its schema moves
/// into the definition instead of being copied. For callers that parsed
/// the document only to convert it (`osp convert`).
pub fn from_document(doc: Value, opts: &Options) -> Result<Converted, Error> {
    from_definition(definition::from_document(doc)?, opts)
}

fn from_definition(definition: Definition, opts: &Options) -> Result<Converted, Error> {
    // Read once: the Template and the API share the customisation, and its
    // warnings are reported once.
    let (custom, mut warnings) = annotations::for_customisation(&definition);
    let generated = template::for_template(&definition, &custom, opts)?;
    warnings.extend(generated.warnings);
    Ok(Converted {
        api: api::for_api(&definition, &custom, opts),
        template: generated.template,
        definition,
        warnings,
        catalog: custom.catalog,
        compositions: opts.compositions.clone(),
    })
}
