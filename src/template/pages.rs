//! The form's fixed pages: metadata first, advanced (composition choice)
//! and delivery last. The service's own pages come from `layout`.
use serde_json::{Map, Value, json};

use crate::annotations::Customisation;
use crate::definition::{Definition, Source};
use crate::options::Options;
use crate::value::{fixed, object};

/// DNS-1123 label: what Kubernetes accepts as a name.
pub const DNS_LABEL: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

/// Name, namespace (namespaced kinds only) and owner.
pub(crate) fn metadata(def: &Definition) -> Value {
    let kind = &def.target().kind;
    let mut props = Map::new();
    let mut name = fixed!({"title": "Name", "type": "string", "description": "",
        "pattern": DNS_LABEL, "maxLength": 63, "ui:autofocus": true});
    name["description"] = Value::String(format!(
        "Name of the {kind}: lowercase letters, digits and `-`."
    ));
    props.insert("name".into(), name);
    let mut required = vec![json!("name")];
    if def.is_namespaced() {
        let mut namespace = fixed!({"title": "Namespace", "type": "string", "default": "default",
            "description": "", "pattern": DNS_LABEL, "maxLength": 63});
        namespace["description"] = Value::String(format!("Namespace the {kind} is created in."));
        props.insert("namespace".into(), namespace);
        required.push(json!("namespace"));
    }
    props.insert(
        "owner".into(),
        fixed!({"title": "Owner", "type": "string", "description": "Team or person that owns it.",
               "ui:field": "OwnerPicker",
               "ui:options": {"catalogFilter": {"kind": ["Group", "User"]}}}),
    );
    required.push(json!("owner"));
    object([
        ("title", json!("Metadata")),
        ("type", json!("object")),
        ("required", Value::Array(required)),
        ("properties", Value::Object(props)),
    ])
}

/// True when the definition is a Crossplane XRD (composition choice applies).
pub(crate) fn has_compositions(def: &Definition) -> bool {
    matches!(def.source, Source::XrdV1 | Source::XrdV2)
}

/// Composition choice, update policy and, for claims, the connection
/// secret, plus fields moved to the advanced part.
pub(crate) fn advanced(
    def: &Definition,
    opts: &Options,
    moved: Option<(String, Value)>,
) -> Option<Value> {
    let mut props = Map::new();
    if let Some((param, schema)) = moved {
        props.insert(param, schema);
    }
    if has_compositions(def) {
        let mut name = fixed!({"title": "Composition", "type": "string",
            "description": "The Composition that provisions it. Leave empty for the default."});
        let mut names = opts.compositions.clone();
        if let Some(d) = &def.default_composition {
            name["default"] = json!(d);
            if !names.is_empty() && !names.contains(d) {
                names.insert(0, d.clone());
            }
        }
        if !names.is_empty() {
            name["enum"] = json!(names);
        }
        props.insert("compositionName".into(), name);
        props.insert(
            "compositionSelector".into(),
            fixed!({"title": "Composition selector", "type": "object",
                   "description": "Labels that select a Composition, used when no Composition is named.",
                   "additionalProperties": {"type": "string"}, "default": {}}),
        );
        let mut policy = fixed!({"title": "Update policy", "type": "string", "enum": ["Automatic", "Manual"],
            "description": "Whether new Composition revisions are adopted automatically."});
        if let Some(p) = def
            .default_update_policy
            .as_ref()
            .filter(|p| *p == "Automatic" || *p == "Manual")
        {
            policy["default"] = json!(p);
        }
        props.insert("updatePolicy".into(), policy);
        if def.is_claim() {
            props.insert(
                "compositeDeletePolicy".into(),
                fixed!({"title": "Delete policy", "type": "string", "enum": crate::definition::DELETE_POLICIES,
                       "description": "How deleting the claim deletes what it composed: `Background` returns at once, `Foreground` waits until the composed resources are gone."}),
            );
            props.insert(
                "connectionSecretName".into(),
                fixed!({"title": "Connection secret", "type": "string", "maxLength": 253,
                       "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
                       "description": "Name of the Secret the connection details are written to, in the claim's namespace."}),
            );
        }
    }
    (!props.is_empty()).then(|| {
        object([
            ("title", json!("Advanced")),
            ("type", json!("object")),
            ("properties", Value::Object(props)),
        ])
    })
}

/// Form key of the preview field, and the field extension it names.
pub const CLAIM_PREVIEW_FIELD: &str = "OspClaimPreview";

/// The last page: the claim the form would create, rendered and validated
/// by the sidecar as the user types. The field reads the form through the
/// render step's own `values` (its `${{ parameters.* }}` references), so the
/// preview is the same request the render step makes.
pub(crate) fn preview(def: &Definition, values: &Value) -> Value {
    json!({"title": "Preview", "type": "object", "properties": {"preview": {
        "title": "Claim preview", "type": "string",
        "description": "The manifest this form creates, checked as at submit.",
        "ui:field": CLAIM_PREVIEW_FIELD,
        "ui:options": {"definition": def.name, "values": values},
    }}})
}

/// How the manifest is delivered; `None` when there is nothing to ask.
pub(crate) fn delivery(custom: &Customisation, opts: &Options) -> Option<Value> {
    let fixed_repo = custom.repo_url.is_some() || opts.repo_url.is_some();
    let hosts = if opts.allowed_hosts.is_empty() {
        vec!["github.com".to_string()]
    } else {
        opts.allowed_hosts.clone()
    };
    let mut repo = fixed!({"title": "Repository", "type": "string",
        "description": "Repository the pull request is opened against.",
        "ui:field": "RepoUrlPicker", "ui:options": {"allowedHosts": []}});
    repo["ui:options"]["allowedHosts"] = json!(hosts);
    if opts.user_credentials {
        // The picker signs the user in to the forge and puts their token in
        // the task's secrets; the publish step passes it on.
        repo["ui:options"]["requestUserCredentials"] =
            json!({"secretsKey": super::USER_TOKEN_SECRET});
    }
    // Pages are built by moving `repo` in: `json!` would copy it.
    match (opts.direct_apply, fixed_repo) {
        (false, true) => None,
        (false, false) => Some(object([
            ("title", json!("Delivery")),
            ("type", json!("object")),
            ("required", json!(["repoUrl"])),
            ("properties", object([("repoUrl", repo)])),
        ])),
        (true, _) => {
            let mut pr = json!({"properties": {"delivery": {"const": "pull-request"}}});
            if !fixed_repo {
                pr["properties"]["repoUrl"] = repo;
                pr["required"] = json!(["repoUrl"]);
            }
            let mut page = fixed!({
                "title": "Delivery", "type": "object", "required": ["delivery"],
                "properties": {"delivery": {"title": "Delivery", "type": "string",
                    "enum": ["pull-request", "apply"], "enumNames": ["Pull request", "Apply directly"],
                    "default": "pull-request"}},
                "dependencies": {"delivery": {"oneOf": [
                    null,
                    {"properties": {"delivery": {"const": "apply"},
                        "dryRun": {"title": "Dry run", "type": "boolean", "default": false,
                                   "description": "Validate with the API server without creating anything."}}},
                ]}},
            });
            page["dependencies"]["delivery"]["oneOf"][0] = pr;
            Some(page)
        }
    }
}
