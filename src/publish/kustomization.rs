//! Keeping a folder's `kustomization.yaml` in step with the manifests written
//! next to it, so Flux (or `kustomize build`) picks a new claim up and drops a
//! deleted one. Only `resources` changes; every other key is kept in order.
use serde_json::{Map, Value, json};

use crate::document::{self, Limits};

/// The file name kept up to date in each folder.
pub const FILE_NAME: &str = "kustomization.yaml";

/// Errors from updating a kustomization.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The existing file is not valid YAML.
    #[error("cannot read `{path}`: {message}")]
    Parse { path: String, message: String },
    /// The existing file is not a mapping.
    #[error("`{path}` is not a mapping")]
    NotMapping { path: String },
    /// `resources` exists but is not a list of strings.
    #[error("`{path}`: `resources` is not a list of strings")]
    ResourcesNotList { path: String },
}

/// The new content of the kustomization at `path` after adding the entries
/// `add` and removing `remove` (file names relative to its folder). `None`
/// means nothing to write: already up to date, or absent with nothing to add.
pub fn for_kustomization(
    path: &str,
    existing: Option<&str>,
    add: &[&str],
    remove: &[&str],
) -> Result<Option<String>, Error> {
    let mut doc = match existing {
        None if add.is_empty() => return Ok(None),
        None => json!({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": [],
        }),
        Some(text) => document::from_yaml(text, Limits::default()).map_err(|e| Error::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?,
    };
    let Some(map) = doc.as_object_mut() else {
        return Err(Error::NotMapping {
            path: path.to_owned(),
        });
    };
    let before = resources(map, path)?;
    let mut after: Vec<String> = before
        .iter()
        .filter(|r| !remove.contains(&r.as_str()))
        .cloned()
        .collect();
    for a in add {
        if !after.iter().any(|r| r == a) {
            after.push((*a).to_owned());
        }
    }
    if existing.is_some() && after == before {
        return Ok(None);
    }
    map.insert(
        "resources".into(),
        Value::Array(after.into_iter().map(Value::String).collect()),
    );
    Ok(Some(document::to_yaml(&doc)))
}

fn resources(map: &Map<String, Value>, path: &str) -> Result<Vec<String>, Error> {
    let bad = || Error::ResourcesNotList {
        path: path.to_owned(),
    };
    match map.get("resources") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned).ok_or_else(bad))
            .collect(),
        Some(_) => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_and_removes_entries() {
        struct Case {
            reason: &'static str,
            existing: Option<&'static str>,
            add: &'static [&'static str],
            remove: &'static [&'static str],
            want: Option<&'static str>,
        }
        let cases = [
            Case {
                reason: "a new folder gets a new kustomization",
                existing: None,
                add: &["db1.yaml"],
                remove: &[],
                want: Some(
                    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- db1.yaml\n",
                ),
            },
            Case {
                reason: "other keys and entries are kept in order",
                existing: Some(
                    "namespace: team-a\nresources:\n- a.yaml\ncommonLabels:\n  team: a\n",
                ),
                add: &["db1.yaml"],
                remove: &[],
                want: Some(
                    "namespace: team-a\nresources:\n- a.yaml\n- db1.yaml\ncommonLabels:\n  team: a\n",
                ),
            },
            Case {
                reason: "an entry already listed changes nothing",
                existing: Some("resources:\n- db1.yaml\n"),
                add: &["db1.yaml"],
                remove: &[],
                want: None,
            },
            Case {
                reason: "a deleted file leaves the list",
                existing: Some("resources:\n- a.yaml\n- db1.yaml\n"),
                add: &[],
                remove: &["db1.yaml"],
                want: Some("resources:\n- a.yaml\n"),
            },
            Case {
                reason: "removing from an absent file writes nothing",
                existing: None,
                add: &[],
                remove: &["db1.yaml"],
                want: None,
            },
        ];
        for c in cases {
            let got = for_kustomization("k.yaml", c.existing, c.add, c.remove).expect(c.reason);
            assert_eq!(got.as_deref(), c.want, "{}", c.reason);
        }
    }

    #[test]
    fn rejects_unusable_files() {
        struct Case {
            reason: &'static str,
            existing: &'static str,
            want: &'static str,
        }
        let cases = [
            Case {
                reason: "a list is not a kustomization",
                existing: "- a\n",
                want: "`k.yaml` is not a mapping",
            },
            Case {
                reason: "resources must be a list",
                existing: "resources: a.yaml\n",
                want: "`k.yaml`: `resources` is not a list of strings",
            },
        ];
        for c in cases {
            let err = for_kustomization("k.yaml", Some(c.existing), &["b.yaml"], &[])
                .expect_err(c.reason);
            assert_eq!(err.to_string(), c.want, "{}", c.reason);
        }
    }
}
