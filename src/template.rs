//! `for_template`: a [`Definition`] becomes a Backstage Software Template
//! (`scaffolder.backstage.io/v1beta3`) whose steps call the sidecar's actions.
//! Pages: metadata, the service's own fields (`spec`, plus one parameter per
//! annotated page), advanced settings, delivery.
use serde_json::{Map, Value, json};

use crate::annotations::Customisation;
use crate::definition::{Definition, Error, Source};
use crate::entity;
use crate::value::object;
use crate::warning::Warning;

mod form;
mod layout;
mod pages;
mod steps;

pub use form::{YAML_FIELD, js_pattern, title_of};
pub use pages::DNS_LABEL;

/// Name of the scaffolder action that renders and validates the claim.
pub const RENDER_ACTION: &str = "osp:claim:render";
/// Name of the scaffolder action that opens the pull request.
pub const PUBLISH_ACTION: &str = "osp:claim:publish";
/// Task secret the repository picker stores the user's forge token under.
pub const USER_TOKEN_SECRET: &str = "USER_OAUTH_TOKEN";
/// Name of the scaffolder action that applies the claim directly.
pub const APPLY_ACTION: &str = "osp:claim:apply";

use crate::options::Options;

/// A generated Template and what was noticed on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// The Template entity.
    pub template: Value,
    /// Non-fatal notes.
    pub warnings: Vec<Warning>,
}

/// Builds the Template entity for a definition and its customisation
/// (read once by the caller, with its warnings).
pub fn for_template(
    def: &Definition,
    custom: &Customisation,
    opts: &Options,
) -> Result<Generated, Error> {
    let mut warnings = Vec::new();
    let empty;
    let spec = match spec_schema(def)? {
        Some(s) => s,
        None => {
            empty = json!({"type": "object"});
            &empty
        }
    };
    layout::warn_reserved(def, spec, &mut warnings);
    let form = spec_form(def, custom, spec, &mut warnings)?;
    let (main, parts, adv) =
        layout::split(form.schema, &custom.pages, &form.advanced, &mut warnings);
    let others: Vec<&layout::Part> = parts.iter().chain(adv.as_ref()).collect();
    let values = layout::values(&main, &others);
    let mut parameters = parameters(def, custom, opts, main, parts, adv);
    if opts.claim_preview {
        parameters.push(pages::preview(def, &values));
    }
    let steps = steps::steps(def, custom, opts, values, pages::has_compositions(def));
    let spec = object([
        ("owner", json!(opts.owner_for(custom))),
        ("type", json!(template_type(def))),
        ("parameters", Value::Array(parameters)),
        ("steps", steps),
        ("output", steps::output()),
    ]);
    let template = object([
        ("apiVersion", json!("scaffolder.backstage.io/v1beta3")),
        ("kind", json!("Template")),
        ("metadata", Value::Object(metadata(def, custom))),
        ("spec", spec),
    ]);
    Ok(Generated { template, warnings })
}

/// The definition's `spec` schema, borrowed; `None` when it has none.
fn spec_schema(def: &Definition) -> Result<Option<&Value>, Error> {
    // Two lookups: `pointer` splits and unescapes its path, a tenth of
    // the Template's fixed cost (issue 18).
    match def.schema.get("properties").and_then(|p| p.get("spec")) {
        None => Ok(None),
        Some(s) if s.is_object() => Ok(Some(s)),
        Some(_) => Err(Error::Invalid {
            path: "spec".into(),
            message: "the `spec` schema must be an object schema".into(),
        }),
    }
}

/// The `spec` schema mapped to a form, and the fields marked advanced.
struct SpecForm {
    schema: Value,
    advanced: Vec<String>,
}

/// Maps the `spec` schema to a form titled after the kind.
fn spec_form(
    def: &Definition,
    custom: &Customisation,
    spec: &Value,
    warnings: &mut Vec<Warning>,
) -> Result<SpecForm, Error> {
    let mut mapper = form::Mapper::new(custom).reserved(def.reserved_fields());
    let mut mapped = mapper.node(spec, None, "spec")?;
    warnings.append(&mut mapper.warnings);
    if let Value::Object(m) = mapped {
        // Our title first, whatever the schema said.
        let mut head = Map::new();
        head.insert(
            "title".into(),
            Value::String(format!("{} settings", def.target().kind)),
        );
        head.extend(m.into_iter().filter(|(k, _)| k != "title"));
        head.insert("type".into(), json!("object"));
        mapped = Value::Object(head);
    }
    Ok(SpecForm {
        schema: mapped,
        advanced: mapper.advanced,
    })
}

/// The form's pages: metadata, the service's fields, one per annotated
/// page, then advanced settings and delivery when they have fields.
fn parameters(
    def: &Definition,
    custom: &Customisation,
    opts: &Options,
    main: layout::Part,
    parts: Vec<layout::Part>,
    adv: Option<layout::Part>,
) -> Vec<Value> {
    let page = |title: String, param: &str, schema: Value| {
        let properties = Value::Object(Map::from_iter([(param.to_string(), schema)]));
        object([
            ("title", json!(title)),
            ("type", json!("object")),
            ("properties", properties),
        ])
    };
    let mut parameters = vec![pages::metadata(def)];
    parameters.push(page(title(def, custom), "spec", main.schema));
    for p in parts {
        parameters.push(page(p.title, &p.param, p.schema));
    }
    if let Some(a) = pages::advanced(def, opts, adv.map(|a| (a.param, a.schema))) {
        parameters.push(a);
    }
    if let Some(d) = pages::delivery(custom, opts) {
        parameters.push(d);
    }
    parameters
}

/// The Template's `metadata`, with the annotations that tie it to its API.
fn metadata(def: &Definition, custom: &Customisation) -> Map<String, Value> {
    let mut annotations = entity::managed_annotations();
    annotations.insert("osp.dev/definition".into(), json!(def.name));
    annotations.insert(
        "osp.dev/api".into(),
        Value::String(format!("api:default/{}", entity::name_for(&def.name))),
    );
    if let Some(t) = &custom.techdocs_ref {
        annotations.insert("backstage.io/techdocs-ref".into(), json!(t));
    }
    if let Some(i) = &custom.icon {
        annotations.insert("osp.dev/icon".into(), json!(i));
    }
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(entity::name_for(&def.name)));
    metadata.insert("title".into(), json!(title(def, custom)));
    metadata.insert("description".into(), json!(description(def, custom)));
    metadata.insert("tags".into(), json!(tags(def, custom)));
    metadata.insert("annotations".into(), Value::Object(annotations));
    if let Some(v) = def.labels.get("openportal.dev/version") {
        metadata.insert("labels".into(), json!({"openportal.dev/version": v}));
    }
    metadata
}

/// `spec.type` of the Template: what the user gets.
pub fn template_type(def: &Definition) -> &'static str {
    match def.source {
        Source::Rgd => "kro-instance",
        Source::Promise => "kratix-resource",
        _ if def.is_claim() => "crossplane-claim",
        _ => "crossplane-xr",
    }
}

fn title(def: &Definition, custom: &Customisation) -> String {
    custom
        .title
        .clone()
        .unwrap_or_else(|| title_of(&def.target().kind))
}

fn description(def: &Definition, custom: &Customisation) -> String {
    let mut d = custom.description.clone().unwrap_or_else(|| {
        let what = match def.source {
            Source::Rgd => "KRO instance",
            Source::Promise => "Kratix resource",
            _ if def.is_claim() => "Crossplane claim",
            _ => "Crossplane composite resource",
        };
        format!(
            "Create a {} ({what}, `{}`).",
            def.target().kind,
            def.api_version()
        )
    });
    if def.deprecated {
        d.push_str(&format!(" Version `{}` is deprecated.", def.version));
    }
    d
}

/// Tags valid for Backstage (`[a-z0-9:+#]` words joined by `-`, ≤ 63).
fn tags(def: &Definition, custom: &Customisation) -> Vec<String> {
    let source = match def.source {
        Source::Rgd => "kro",
        Source::Promise => "kratix",
        _ => "crossplane",
    };
    let mut out: Vec<String> = Vec::new();
    let raws = [source, def.target().kind.as_str()];
    for raw in raws
        .into_iter()
        .chain(custom.tags.iter().map(String::as_str))
    {
        let t = tag_of(raw);
        if !t.is_empty() && !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// `raw` as a tag, in one pass: lowercased, every run of other characters
/// one `-`, none at either end, at most 63 characters.
fn tag_of(raw: &str) -> String {
    let mut t = String::with_capacity(raw.len().min(MAX_TAG_LEN));
    let mut gap = false;
    for c in raw.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() || matches!(c, ':' | '+' | '#') {
            if gap && !t.is_empty() {
                t.push('-');
            }
            gap = false;
            t.push(c);
        } else {
            gap = true;
        }
    }
    // ASCII only, so bytes are characters.
    t.truncate(MAX_TAG_LEN);
    t.truncate(t.trim_end_matches('-').len());
    t
}

/// Longest tag Backstage accepts.
const MAX_TAG_LEN: usize = 63;

/// The JSON Schema a form shows for an OpenAPI v3 (Kubernetes structural)
/// schema, mapped at every depth. A schema that cannot be mapped (unknown
/// `type`, malformed `properties`) yields `{}`, which accepts anything;
/// the claim's validation still applies.
pub fn form_schema(schema: &Value) -> Value {
    let custom = Customisation::default();
    let mut m = form::Mapper::new(&custom);
    let mut out = m.node(schema, None, "").unwrap_or_else(|_| json!({}));
    form::prune_required(&mut out);
    out
}

/// Like [`form_schema`], but reports the first schema error with its path.
pub fn try_form_schema(schema: &Value) -> Result<Value, Error> {
    let custom = Customisation::default();
    let mut m = form::Mapper::new(&custom);
    let mut out = m.node(schema, None, "")?;
    form::prune_required(&mut out);
    Ok(out)
}

#[cfg(test)]
mod tests;
