//! Crossplane CompositeResourceDefinitions, `apiextensions.crossplane.io` v1 and v2.
use serde_json::Value;

use super::{Definition, Error, Found, Names, Scope, Source, offered_version, str_at, string_map};

/// Reads an XRD. The version offered is the `referenceable` one (Crossplane
/// allows exactly one), falling back to the first served version.
pub(crate) fn read_xrd(doc: &Value) -> Result<Found, Error> {
    let source = source_of(doc);
    let meta = doc.get("metadata");
    let name = meta
        .and_then(|m| str_at(m, "name"))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing("metadata.name"))?;
    let spec = doc.get("spec").ok_or_else(|| missing("spec"))?;
    if spec.get("crdSpecTemplate").is_some() {
        return Err(Error::Invalid {
            path: "spec.crdSpecTemplate".into(),
            message: "the pre-v1 `crdSpecTemplate` shape is no longer served by Crossplane; use `spec.group`, `spec.names` and `spec.versions`".into(),
        });
    }
    let group = str_at(spec, "group")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing("spec.group"))?;
    let names = names_at(spec, "names")?.ok_or_else(|| missing("spec.names"))?;
    let claim_names = names_at(spec, "claimNames")?;
    let scope = scope_of(source, spec)?;
    if claim_names.is_some() && scope != Scope::LegacyCluster {
        return Err(Error::Invalid {
            path: "spec.claimNames".into(),
            message: format!("claims are only offered by `LegacyCluster` XRDs, not `{scope:?}`"),
        });
    }
    let offered = offered_version(spec, "spec.versions", "referenceable")?;
    let definition = Definition {
        source,
        name: name.to_string(),
        group: group.to_string(),
        version: offered.name.to_string(),
        versions: offered.served,
        deprecated: offered.deprecated,
        names,
        claim_names,
        scope,
        schema: Value::Null,
        annotations: string_map(meta.and_then(|m| m.get("annotations"))),
        labels: string_map(meta.and_then(|m| m.get("labels"))),
        default_composition: spec
            .pointer("/defaultCompositionRef/name")
            .and_then(Value::as_str)
            .map(str::to_string),
        default_update_policy: str_at(spec, "defaultCompositionUpdatePolicy").map(str::to_string),
        connection_secret_keys: connection_secret_keys(spec),
    };
    Ok(Found::at(definition, offered.schema_at))
}

/// The XRD shape, from `apiVersion`.
fn source_of(doc: &Value) -> Source {
    match str_at(doc, "apiVersion").unwrap_or_default() {
        "apiextensions.crossplane.io/v2" => Source::XrdV2,
        // v1alpha1 XRDs have the v1 shape.
        _ => Source::XrdV1,
    }
}

/// `spec.scope`, defaulted the way Crossplane defaults it for each shape.
fn scope_of(source: Source, spec: &Value) -> Result<Scope, Error> {
    match (source, str_at(spec, "scope")) {
        (_, Some("Namespaced")) => Ok(Scope::Namespaced),
        (_, Some("Cluster")) => Ok(Scope::Cluster),
        (_, Some("LegacyCluster")) => Ok(Scope::LegacyCluster),
        (Source::XrdV2, None) => Ok(Scope::Namespaced),
        (_, None) => Ok(Scope::LegacyCluster),
        (_, Some(other)) => Err(Error::Invalid {
            path: "spec.scope".into(),
            message: format!(
                "unknown scope `{other}`, expected `Namespaced`, `Cluster` or `LegacyCluster`"
            ),
        }),
    }
}

/// `spec.connectionSecretKeys`, skipping entries that are not strings.
fn connection_secret_keys(spec: &Value) -> Vec<String> {
    spec.get("connectionSecretKeys")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn names_at(spec: &Value, key: &str) -> Result<Option<Names>, Error> {
    let Some(n) = spec.get(key) else {
        return Ok(None);
    };
    let kind = str_at(n, "kind")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing(&format!("spec.{key}.kind")))?;
    let plural = str_at(n, "plural")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing(&format!("spec.{key}.plural")))?;
    Ok(Some(Names {
        kind: kind.to_string(),
        plural: plural.to_string(),
    }))
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
    fn for_xrd(doc: &Value) -> Result<Definition, Error> {
        read_xrd(doc).map(|found| found.copied(doc))
    }

    fn xrd(api: &str, spec: Value) -> Value {
        json!({"apiVersion": api, "kind": "CompositeResourceDefinition",
               "metadata": {"name": "xdbs.example.org"}, "spec": spec})
    }

    #[test]
    fn reads_scope_version_and_claims() {
        let v = |name: &str, served: bool, referenceable: bool| {
            json!({"name": name, "served": served, "referenceable": referenceable,
                   "schema": {"openAPIV3Schema": {"type": "object"}}})
        };
        struct Case {
            reason: &'static str,
            doc: Value,
            want: Result<(Scope, &'static str, bool), &'static str>,
        }
        let names = json!({"kind": "XDB", "plural": "xdbs"});
        let cases = [
            Case {
                reason: "v1 defaults to LegacyCluster and offers the claim",
                doc: xrd(
                    "apiextensions.crossplane.io/v1",
                    json!({"group": "example.org", "names": names,
                           "claimNames": {"kind": "DB", "plural": "dbs"},
                           "versions": [v("v1alpha1", true, true)]}),
                ),
                want: Ok((Scope::LegacyCluster, "v1alpha1", true)),
            },
            Case {
                reason: "v2 defaults to Namespaced",
                doc: xrd(
                    "apiextensions.crossplane.io/v2",
                    json!({"group": "example.org", "names": names,
                           "versions": [v("v1", true, true)]}),
                ),
                want: Ok((Scope::Namespaced, "v1", false)),
            },
            Case {
                reason: "the referenceable version wins over the first served one",
                doc: xrd(
                    "apiextensions.crossplane.io/v2",
                    json!({"group": "example.org", "names": names, "scope": "Cluster",
                           "versions": [v("v1alpha1", true, false), v("v1beta1", true, true)]}),
                ),
                want: Ok((Scope::Cluster, "v1beta1", false)),
            },
            Case {
                reason: "no served version is an error naming spec.versions",
                doc: xrd(
                    "apiextensions.crossplane.io/v1",
                    json!({"group": "example.org", "names": names,
                           "versions": [v("v1", false, false)]}),
                ),
                want: Err("spec.versions: no served version to generate from"),
            },
            Case {
                reason: "missing group names its path",
                doc: xrd(
                    "apiextensions.crossplane.io/v1",
                    json!({"names": names, "versions": [v("v1", true, true)]}),
                ),
                want: Err("spec.group: required field is missing"),
            },
        ];
        for c in cases {
            let got = for_xrd(&c.doc)
                .map(|d| (d.scope, d.is_claim()))
                .map_err(|e| e.to_string());
            let want = c
                .want
                .map(|(s, _, claim)| (s, claim))
                .map_err(str::to_string);
            assert_eq!(got, want, "{}", c.reason);
            if let (Ok((_, ver, _)), Ok(d)) = (c.want, for_xrd(&c.doc)) {
                assert_eq!(d.version, ver, "{}", c.reason);
                assert!(
                    d.versions.iter().any(|v| v == ver),
                    "{}: versions",
                    c.reason
                );
            }
        }
    }

    #[test]
    fn lists_every_served_version_in_order() {
        let v = |name: &str, served: bool| json!({"name": name, "served": served, "referenceable": name == "v1beta1"});
        let doc = xrd(
            "apiextensions.crossplane.io/v1",
            json!({"group": "example.org", "names": {"kind": "XDB", "plural": "xdbs"},
                   "versions": [v("v1alpha1", true), v("v1alpha2", false), v("v1beta1", true)]}),
        );
        let d = for_xrd(&doc).expect("reads");
        assert_eq!(d.version, "v1beta1");
        assert_eq!(
            d.versions,
            ["v1alpha1", "v1beta1"],
            "the unserved one is left out"
        );
    }
}
