//! Structural schema validation of a whole claim or XR, the way the API
//! server validates a custom resource against its CRD: every violation is
//! collected with its field path, nothing stops at the first.
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use regex::Regex;
use serde_json::Value;

use super::{Violation, Warning, schema};
use crate::definition::Definition;

mod cel;
mod format;

#[cfg(test)]
mod tests;

/// Validates `manifest` (its `spec`, and the root's CEL rules) against the
/// definition's schema.
pub fn manifest(
    def: &Definition,
    manifest: &Value,
    cel: super::CelLimits,
    violations: &mut Vec<Violation>,
    warnings: &mut Vec<Warning>,
) {
    let root = &def.schema;
    let mut v = Validator {
        violations,
        warnings,
        budget: cel::Budget::new(cel),
        reserved: def.reserved_fields(),
    };
    match (manifest.get("spec"), schema::property(root, "spec")) {
        (Some(spec), Some(node)) => v.node(node, spec, "spec"),
        (None, _) if schema::is_required(root, "spec") => v.push("spec", "required value"),
        _ => {}
    }
    if let (Some(name), Some(node)) = (
        manifest.pointer("/metadata/name"),
        root.pointer("/properties/metadata/properties/name"),
    ) {
        v.node(node, name, "metadata.name");
    }
    cel::rules(root, manifest, "", &mut v);
}

/// Walks a value and its schema, collecting violations.
struct Validator<'a> {
    violations: &'a mut Vec<Violation>,
    warnings: &'a mut Vec<Warning>,
    budget: cel::Budget,
    /// `spec` fields Crossplane adds to the generated CRD; not in the XRD schema.
    reserved: &'static [&'static str],
}

impl Validator<'_> {
    fn push(&mut self, field: &str, description: impl Into<String>) {
        self.violations.push(Violation {
            field: field.to_string(),
            description: description.into(),
        });
    }

    fn warn(&mut self, path: &str, message: impl Into<String>) {
        self.warnings.push(Warning {
            path: path.to_string(),
            message: message.into(),
        });
    }

    /// Validates `value` at `path` against `node`, then its rules.
    fn node(&mut self, node: &Value, value: &Value, path: &str) {
        if value.is_null() {
            if !schema::flag(node, "nullable") {
                self.push(path, "must not be null");
            }
            return;
        }
        if let Some(want) = type_mismatch(node, value) {
            self.push(
                path,
                format!(
                    "must be of type `{want}`, got `{}`",
                    schema::type_name(value)
                ),
            );
            return;
        }
        self.values(node, value, path);
        match value {
            Value::String(s) => self.string(node, s, path),
            Value::Number(_) => self.number(node, value, path),
            Value::Array(items) => self.array(node, items, path),
            Value::Object(map) => self.object(node, map, path),
            _ => {}
        }
        self.combinators(node, value, path);
        cel::rules(node, value, path, self);
    }

    /// `enum` and `const`.
    fn values(&mut self, node: &Value, value: &Value, path: &str) {
        if let Some(allowed) = node.get("enum").and_then(Value::as_array)
            && !allowed.iter().any(|a| same(a, value))
        {
            let list: Vec<String> = allowed.iter().map(|a| format!("`{a}`")).collect();
            self.push(
                path,
                format!(
                    "unsupported value `{value}`, expected one of {}",
                    list.join(", ")
                ),
            );
        }
        if let Some(c) = node.get("const")
            && !same(c, value)
        {
            self.push(path, format!("must be `{c}`, got `{value}`"));
        }
    }

    fn string(&mut self, node: &Value, s: &str, path: &str) {
        // Kubernetes counts characters (runes), not bytes.
        let len = s.chars().count() as u64;
        if let Some(max) = node.get("maxLength").and_then(Value::as_u64)
            && len > max
        {
            self.push(
                path,
                format!("must be no more than `{max}` characters, got `{len}`"),
            );
        }
        if let Some(min) = node.get("minLength").and_then(Value::as_u64)
            && len < min
        {
            self.push(
                path,
                format!("must be at least `{min}` characters, got `{len}`"),
            );
        }
        if let Some(pattern) = node.get("pattern").and_then(Value::as_str) {
            match compiled(pattern) {
                Some(re) if !re.is_match(s) => {
                    self.push(path, format!("`{s}` must match pattern `{pattern}`"));
                }
                Some(_) => {}
                None => self.warn(
                    path,
                    format!("pattern `{pattern}` is not a valid regular expression; not checked"),
                ),
            }
        }
        if let Some(f) = node.get("format").and_then(Value::as_str)
            && !format::valid(f, s)
        {
            self.push(path, format!("`{s}` is not a valid `{f}`"));
        }
    }

    fn number(&mut self, node: &Value, value: &Value, path: &str) {
        let Some(x) = value.as_f64() else {
            return;
        };
        let exclusive = |k: &str| node.get(k).and_then(Value::as_bool).unwrap_or(false);
        if let Some(max) = node.get("maximum").and_then(Value::as_f64) {
            if exclusive("exclusiveMaximum") && x >= max {
                self.push(path, format!("must be less than `{max}`, got `{value}`"));
            } else if x > max {
                self.push(
                    path,
                    format!("must be less than or equal to `{max}`, got `{value}`"),
                );
            }
        }
        if let Some(min) = node.get("minimum").and_then(Value::as_f64) {
            if exclusive("exclusiveMinimum") && x <= min {
                self.push(path, format!("must be greater than `{min}`, got `{value}`"));
            } else if x < min {
                self.push(
                    path,
                    format!("must be greater than or equal to `{min}`, got `{value}`"),
                );
            }
        }
        if let Some(m) = node
            .get("multipleOf")
            .and_then(Value::as_f64)
            .filter(|m| *m > 0.0)
        {
            let q = x / m;
            if (q - q.round()).abs() > 1e-9 {
                self.push(path, format!("must be a multiple of `{m}`, got `{value}`"));
            }
        }
    }

    fn array(&mut self, node: &Value, items: &[Value], path: &str) {
        let n = items.len() as u64;
        if let Some(max) = node.get("maxItems").and_then(Value::as_u64)
            && n > max
        {
            self.push(path, format!("must have at most `{max}` items, got `{n}`"));
        }
        if let Some(min) = node.get("minItems").and_then(Value::as_u64)
            && n < min
        {
            self.push(path, format!("must have at least `{min}` items, got `{n}`"));
        }
        let list_type = node.get("x-kubernetes-list-type").and_then(Value::as_str);
        if schema::flag(node, "uniqueItems") || list_type == Some("set") {
            for (i, item) in items.iter().enumerate() {
                if items[..i].iter().any(|e| same(e, item)) {
                    self.push(&format!("{path}[{i}]"), format!("duplicate value `{item}`"));
                }
            }
        }
        if list_type == Some("map") {
            let keys: Vec<&str> = node
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|k| k.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let key_of = |item: &Value| -> Vec<Value> {
                keys.iter()
                    .map(|k| item.get(*k).cloned().unwrap_or(Value::Null))
                    .collect()
            };
            for (i, item) in items.iter().enumerate() {
                let key = key_of(item);
                if items[..i].iter().any(|e| key_of(e) == key) {
                    let shown: Vec<String> = keys
                        .iter()
                        .zip(&key)
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    self.push(
                        &format!("{path}[{i}]"),
                        format!("duplicate entries for key `[{}]`", shown.join(",")),
                    );
                }
            }
        }
        if let Some(item_schema) = schema::items(node) {
            for (i, item) in items.iter().enumerate() {
                self.node(item_schema, item, &format!("{path}[{i}]"));
            }
        }
    }

    fn object(&mut self, node: &Value, map: &serde_json::Map<String, Value>, path: &str) {
        let n = map.len() as u64;
        if let Some(max) = node.get("maxProperties").and_then(Value::as_u64)
            && n > max
        {
            self.push(
                path,
                format!("must have at most `{max}` properties, got `{n}`"),
            );
        }
        if let Some(min) = node.get("minProperties").and_then(Value::as_u64)
            && n < min
        {
            self.push(
                path,
                format!("must have at least `{min}` properties, got `{n}`"),
            );
        }
        for key in schema::required(node) {
            if !map.contains_key(key) {
                self.push(&schema::join(path, key), "required value");
            }
        }
        let at_spec_root = path == "spec";
        for (key, child) in map {
            let child_path = schema::join(path, key);
            if let Some(s) = schema::child(node, key) {
                self.node(s, child, &child_path);
            } else if at_spec_root && self.reserved.contains(&key.as_str()) {
                // Crossplane's own field; composition.rs validated it.
            } else if !schema::preserves_unknown(node) {
                self.push(&child_path, format!("unknown field `{key}`"));
            }
        }
    }

    /// `allOf`, `anyOf`, `oneOf` and `not`: value validations only, as in
    /// structural schemas.
    fn combinators(&mut self, node: &Value, value: &Value, path: &str) {
        let list = |k: &str| {
            node.get(k)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        for s in list("allOf") {
            let found = self.sub(&s, value, path);
            self.violations.extend(found);
        }
        let any = list("anyOf");
        if !any.is_empty() && !any.iter().any(|s| self.passes(s, value, path)) {
            self.push(path, "must match at least one schema in `anyOf`");
        }
        let one = list("oneOf");
        if !one.is_empty() {
            let matched = one.iter().filter(|s| self.passes(s, value, path)).count();
            if matched != 1 {
                self.push(
                    path,
                    format!("must match exactly one schema in `oneOf`, matched `{matched}`"),
                );
            }
        }
        if let Some(not) = node.get("not")
            && self.passes(not, value, path)
        {
            self.push(path, "must not match the schema in `not`");
        }
    }

    /// Whether `value` satisfies `s` (a value-validation-only schema).
    fn passes(&mut self, s: &Value, value: &Value, path: &str) -> bool {
        self.sub(s, value, path).is_empty()
    }

    /// Runs a sub-schema's checks into a scratch list and returns what it
    /// found; the caller decides whether those are violations.
    fn sub(&mut self, s: &Value, value: &Value, path: &str) -> Vec<Violation> {
        let mut scratch = Vec::new();
        let mut warnings = Vec::new();
        let mut inner = Validator {
            violations: &mut scratch,
            warnings: &mut warnings,
            budget: std::mem::take(&mut self.budget),
            reserved: &[],
        };
        // Value validations in combinators allow any field: the enclosing
        // schema decides what is known.
        inner.values(s, value, path);
        match value {
            Value::String(st) => inner.string(s, st, path),
            Value::Number(_) => inner.number(s, value, path),
            _ => {}
        }
        if let Some(want) = type_mismatch(s, value) {
            inner.push(path, format!("must be of type `{want}`"));
        }
        if let Value::Object(map) = value {
            for key in schema::required(s) {
                if !map.contains_key(key) {
                    inner.push(&schema::join(path, key), "required value");
                }
            }
            for (key, child) in map {
                if let Some(cs) = schema::property(s, key) {
                    let found = inner.sub(cs, child, &schema::join(path, key));
                    inner.violations.extend(found);
                }
            }
        }
        inner.combinators(s, value, path);
        self.budget = std::mem::take(&mut inner.budget);
        self.warnings.extend(warnings);
        scratch
    }
}

/// The expected type when `value` does not have the node's type.
fn type_mismatch(node: &Value, value: &Value) -> Option<&'static str> {
    if schema::int_or_string(node) {
        let ok = value.is_string() || value.is_i64() || value.is_u64();
        return (!ok).then_some("int-or-string");
    }
    let (want, ok) = match schema::ty(node)? {
        "object" => ("object", value.is_object()),
        "array" => ("array", value.is_array()),
        "string" => ("string", value.is_string()),
        "integer" => ("integer", value.is_i64() || value.is_u64()),
        "number" => ("number", value.is_number()),
        "boolean" => ("boolean", value.is_boolean()),
        _ => return None,
    };
    (!ok).then_some(want)
}

/// JSON equality where `1` and `1.0` are the same number.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Compiled `pattern`s, shared across calls: definitions repeat them on
/// every render. Bounded so hostile schemas cannot grow it without limit.
fn compiled(pattern: &str) -> Option<Arc<Regex>> {
    static CACHE: LazyLock<Mutex<HashMap<String, Option<Arc<Regex>>>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));
    if let Ok(cache) = CACHE.lock()
        && let Some(re) = cache.get(pattern)
    {
        return re.clone();
    }
    let re = regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .ok()
        .map(Arc::new);
    if let Ok(mut cache) = CACHE.lock() {
        if cache.len() >= 1024 {
            cache.clear();
        }
        cache.insert(pattern.to_string(), re.clone());
    }
    re
}
