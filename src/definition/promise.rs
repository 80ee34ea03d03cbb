//! Kratix `Promise`s. `spec.api` embeds a CustomResourceDefinition: that CRD
//! is what users request. A Promise without one offers nothing to request.
use serde_json::Value;

use super::{Definition, Error, Found, Names, Scope, Source, offered_version, str_at, string_map};

/// Reads a Promise through its embedded CRD. The version offered is the
/// storage version when served, else the first served one.
pub(crate) fn read_promise(doc: &Value) -> Result<Found, Error> {
    let meta = doc.get("metadata");
    let name = meta
        .and_then(|m| str_at(m, "name"))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing("metadata.name"))?;
    let Some(api) = doc.pointer("/spec/api").filter(|a| !a.is_null()) else {
        return Err(Error::NoApi {
            path: "spec.api".into(),
            reason: format!(
                "promise `{name}` has no `spec.api`, so it offers no resource to request"
            ),
        });
    };
    let spec = api.get("spec").ok_or_else(|| missing("spec.api.spec"))?;
    let group = str_at(spec, "group")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing("spec.api.spec.group"))?;
    let names = names_of(spec)?;
    let scope = scope_of(spec)?;
    let offered = offered_version(spec, "spec.api.spec.versions", "storage")?;
    let definition = Definition {
        source: Source::Promise,
        name: name.to_string(),
        group: group.to_string(),
        version: offered.name.to_string(),
        versions: offered.served,
        deprecated: offered.deprecated,
        names,
        claim_names: None,
        scope,
        schema: Value::Null,
        annotations: string_map(meta.and_then(|m| m.get("annotations"))),
        labels: string_map(meta.and_then(|m| m.get("labels"))),
        default_composition: None,
        default_update_policy: None,
        connection_secret_keys: Vec::new(),
    };
    Ok(Found::at(definition, offered.schema_at))
}

/// The CRD's `names`; both `kind` and `plural` are required.
fn names_of(spec: &Value) -> Result<Names, Error> {
    let kind = spec
        .pointer("/names/kind")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing("spec.api.spec.names.kind"))?;
    let plural = spec
        .pointer("/names/plural")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing("spec.api.spec.names.plural"))?;
    Ok(Names {
        kind: kind.to_string(),
        plural: plural.to_string(),
    })
}

/// The CRD's `scope`, `Namespaced` when unset.
fn scope_of(spec: &Value) -> Result<Scope, Error> {
    match str_at(spec, "scope") {
        Some("Namespaced") | None => Ok(Scope::Namespaced),
        Some("Cluster") => Ok(Scope::Cluster),
        Some(other) => Err(Error::Invalid {
            path: "spec.api.spec.scope".into(),
            message: format!("unknown scope `{other}`, expected `Namespaced` or `Cluster`"),
        }),
    }
}

fn missing(path: &str) -> Error {
    Error::Missing {
        path: path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The reader with its schema copied, as `for_document` does.
    fn for_promise(doc: &Value) -> Result<Definition, Error> {
        read_promise(doc).map(|found| found.copied(doc))
    }

    #[test]
    fn reads_the_embedded_crd() {
        struct Case {
            reason: &'static str,
            spec: Value,
            want: Result<(&'static str, Scope), &'static str>,
        }
        let crd = |versions: Value| {
            json!({"api": {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                   "spec": {"group": "example.org", "names": {"kind": "Db", "plural": "dbs"},
                            "scope": "Namespaced", "versions": versions}}})
        };
        let cases = [
            Case {
                reason: "the served storage version wins",
                spec: crd(json!([{"name": "v1alpha1", "served": true},
                                 {"name": "v1", "served": true, "storage": true}])),
                want: Ok(("v1", Scope::Namespaced)),
            },
            Case {
                reason: "an API-less promise is rejected with a reason",
                spec: json!({"dependencies": []}),
                want: Err(
                    "spec.api: promise `p` has no `spec.api`, so it offers no resource to request",
                ),
            },
            Case {
                reason: "no served version",
                spec: crd(json!([{"name": "v1", "served": false, "storage": true}])),
                want: Err("spec.api.spec.versions: no served version to generate from"),
            },
        ];
        for c in cases {
            let doc = json!({"apiVersion": "platform.kratix.io/v1alpha1", "kind": "Promise",
                             "metadata": {"name": "p"}, "spec": c.spec});
            let got = for_promise(&doc)
                .map(|d| (d.version.clone(), d.scope))
                .map_err(|e| e.to_string());
            let want = c
                .want
                .map(|(v, s)| (v.to_string(), s))
                .map_err(str::to_string);
            assert_eq!(got, want, "{}", c.reason);
        }
    }
}
