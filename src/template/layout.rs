//! Which of the service's fields go on which page. Crossplane's machinery is
//! removed first (it depends on the kind), then fields grouped by
//! annotation, or marked advanced, move to their own top-level parameter
//! (`spec_<page>`) at the same nesting, and the render step's `values` is
//! rebuilt from all of them.
use serde_json::{Map, Value, json};

use super::form::prune_required;
use crate::definition::Definition;
use crate::warning::Warning;

/// Warns about each reserved field at the top of a `spec` schema: the form
/// mapper leaves them out (`Mapper::reserved`), so the schema is never
/// copied to drop them (issue 18).
pub(crate) fn warn_reserved(def: &Definition, spec: &Value, warnings: &mut Vec<Warning>) {
    let Some(Value::Object(props)) = spec.get("properties") else {
        return;
    };
    for name in def.reserved_fields() {
        if props.contains_key(*name) {
            warnings.push(Warning {
                path: format!("spec.{name}"),
                message: format!(
                    "`{name}` is set by Crossplane for a `{}`; not shown as a user field",
                    def.target().kind
                ),
            });
        }
    }
}

/// One page's parameter: its name (`spec_network`) and object schema.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Part {
    pub param: String,
    pub title: String,
    pub schema: Value,
    /// Data paths (from `spec`) this part holds; empty for the main part.
    pub paths: Vec<String>,
}

/// Splits the mapped `spec` schema into the main part, one part per page
/// and an advanced part (last, may be empty).
pub(crate) fn split(
    mut main: Value,
    pages: &[(String, Vec<String>)],
    advanced: &[String],
    warnings: &mut Vec<Warning>,
) -> (Part, Vec<Part>, Option<Part>) {
    let mut parts = Vec::new();
    let mut taken: Vec<String> = Vec::new();
    let mut extract = |title: &str,
                       param: String,
                       paths: &[String],
                       main: &mut Value,
                       warnings: &mut Vec<Warning>| {
        let mut tree = json!({"title": title, "type": "object", "properties": {}});
        let mut held = Vec::new();
        for p in paths {
            if taken
                .iter()
                .any(|t| p == t || p.starts_with(&format!("{t}.")))
            {
                continue;
            }
            let Some(rel) = p.strip_prefix("spec.") else {
                continue;
            };
            if rel.contains("[]") {
                warnings.push(Warning {
                    path: p.clone(),
                    message: "fields inside arrays cannot move to another page".into(),
                });
                continue;
            }
            let keys: Vec<&str> = rel.split('.').collect();
            match take(main, &keys) {
                Some(schema) => {
                    put(&mut tree, main, &keys, schema);
                    taken.push(p.clone());
                    held.push(p.clone());
                }
                None => warnings.push(Warning {
                    path: p.clone(),
                    message: format!("no such field for page `{title}`"),
                }),
            }
        }
        prune_required(&mut tree);
        (!held.is_empty()).then(|| Part {
            param,
            title: title.to_string(),
            schema: tree,
            paths: held,
        })
    };
    for (title, paths) in pages {
        let param = unique_param(&format!("spec_{}", slug(title)), &parts);
        if let Some(p) = extract(title, param, paths, &mut main, warnings) {
            parts.push(p);
        }
    }
    let adv = extract(
        "Advanced",
        "spec_advanced".into(),
        advanced,
        &mut main,
        warnings,
    );
    prune_required(&mut main);
    (
        Part {
            param: "spec".into(),
            title: String::new(),
            schema: main,
            paths: Vec::new(),
        },
        parts,
        adv,
    )
}

fn unique_param(base: &str, parts: &[Part]) -> String {
    let mut name = base.to_string();
    let mut n = 2;
    while name == "spec_advanced" || parts.iter().any(|p| p.param == name) {
        name = format!("{base}_{n}");
        n += 1;
    }
    name
}

fn slug(title: &str) -> String {
    let s: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_matches('_').to_string();
    if s.is_empty() { "page".into() } else { s }
}

/// Removes the property at `keys` from an object schema tree.
fn take(schema: &mut Value, keys: &[&str]) -> Option<Value> {
    let (first, rest) = keys.split_first()?;
    let props = schema.get_mut("properties")?.as_object_mut()?;
    if rest.is_empty() {
        return props.shift_remove(*first);
    }
    take(props.get_mut(*first)?, rest)
}

/// Inserts `leaf` at `keys` in `tree`, creating ancestors that copy the
/// title, description and `required` of the source's ancestors.
fn put(tree: &mut Value, source: &Value, keys: &[&str], leaf: Value) {
    let Some((first, rest)) = keys.split_first() else {
        return;
    };
    let src_child = source.pointer(&format!("/properties/{}", pointer_escape(first)));
    if source["required"]
        .as_array()
        .is_some_and(|r| r.iter().any(|n| n == first))
        && rest.is_empty()
    {
        let req = tree
            .as_object_mut()
            .map(|t| t.entry("required").or_insert(json!([])));
        if let Some(Value::Array(r)) = req {
            r.push(json!(first));
        }
    }
    let Some(props) = tree.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    if rest.is_empty() {
        props.insert(first.to_string(), leaf);
        return;
    }
    let child = props.entry(first.to_string()).or_insert_with(|| {
        let mut m = Map::new();
        for k in ["title", "description"] {
            if let Some(v) = src_child.and_then(|s| s.get(k)) {
                m.insert(k.into(), v.clone());
            }
        }
        m.insert("type".into(), json!("object"));
        m.insert("properties".into(), json!({}));
        Value::Object(m)
    });
    let empty = json!({});
    put(child, src_child.unwrap_or(&empty), rest, leaf);
}

fn pointer_escape(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

/// The render step's `values`: `${{ parameters.spec }}` when nothing moved,
/// else an object that picks every field from the part that holds it.
pub(crate) fn values(main: &Part, others: &[&Part]) -> Value {
    if others.is_empty() {
        return json!("${{ parameters.spec }}");
    }
    let moved: Vec<(&str, &str)> = others
        .iter()
        .flat_map(|p| p.paths.iter().map(|path| (path.as_str(), p.param.as_str())))
        .collect();
    node(&main.schema, &moved, "spec", &[])
}

fn node(main: &Value, moved: &[(&str, &str)], path: &str, rel: &[&str]) -> Value {
    // Children: the main part's, then the moved ones' (order of first sight).
    let mut names: Vec<String> = main
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for (p, _) in moved {
        if let Some(rest) = p.strip_prefix(&format!("{path}.")) {
            let name = rest.split('.').next().unwrap_or(rest).to_string();
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    let mut out = Map::new();
    for name in names {
        let child = format!("{path}.{name}");
        let mut rel_child: Vec<&str> = rel.to_vec();
        rel_child.push(&name);
        let expr = if let Some((_, param)) = moved.iter().find(|(p, _)| *p == child) {
            json!(expression(param, &rel_child))
        } else if moved
            .iter()
            .any(|(p, _)| p.starts_with(&format!("{child}.")))
        {
            let sub = main
                .pointer(&format!("/properties/{}", pointer_escape(&name)))
                .cloned()
                .unwrap_or(json!({}));
            node(&sub, moved, &child, &rel_child)
        } else {
            json!(expression("spec", &rel_child))
        };
        out.insert(name, expr);
    }
    Value::Object(out)
}

/// `${{ parameters.spec.a["b-c"] }}`: dotted where the key allows it.
fn expression(param: &str, keys: &[&str]) -> String {
    let mut e = format!("parameters.{param}");
    for k in keys {
        let ident = k
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if ident {
            e.push('.');
            e.push_str(k);
        } else {
            e.push_str(&format!("[{}]", Value::String(k.to_string())));
        }
    }
    format!("${{{{ {e} }}}}")
}
