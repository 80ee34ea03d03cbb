//! One OpenAPI v3 structural schema becomes the JSON Schema (draft-07, as
//! Backstage's scaffolder compiles it with ajv) of a form, at every depth.
//! Kubernetes-only keywords turn into what a form can show; OpenAPI 3.0
//! spellings become draft-07 ones; everything ajv could reject is dropped
//! with a warning instead of breaking the form.
use serde_json::{Map, Value, json};

use crate::annotations::Customisation;
use crate::definition::Error;
use crate::value::{field, flag};
use crate::warning::Warning;

/// `ui:field` of free-form (`x-kubernetes-preserve-unknown-fields`) values:
/// a YAML/JSON editor the Backstage module registers. Without it the form
/// falls back to a key/value editor.
pub const YAML_FIELD: &str = "OspYamlEditor";

/// Formats ajv (with `ajv-formats`) knows; others would fail compilation in
/// strict mode and are dropped.
const FORMATS: [&str; 22] = [
    "date",
    "time",
    "date-time",
    "duration",
    "uri",
    "uri-reference",
    "uri-template",
    "url",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "regex",
    "uuid",
    "json-pointer",
    "relative-json-pointer",
    "byte",
    "int32",
    "int64",
    "float",
    "double",
    "password",
];

const TYPES: [&str; 6] = ["object", "array", "string", "integer", "number", "boolean"];

/// Walks a schema; collects warnings and the fields marked advanced.
#[derive(Debug)]
pub(crate) struct Mapper<'a> {
    custom: &'a Customisation,
    /// Fields left out of `spec`'s own properties: Crossplane sets them.
    reserved: &'static [&'static str],
    pub(crate) warnings: Vec<Warning>,
    pub(crate) advanced: Vec<String>,
}

impl<'a> Mapper<'a> {
    pub(crate) fn new(custom: &'a Customisation) -> Self {
        Self {
            custom,
            reserved: &[],
            warnings: Vec::new(),
            advanced: Vec::new(),
        }
    }

    /// Leaves `names` out of the top-level `spec` properties.
    pub(crate) fn reserved(self, names: &'static [&'static str]) -> Self {
        Self {
            reserved: names,
            ..self
        }
    }

    fn warn(&mut self, path: &str, message: String) {
        self.warnings.push(Warning {
            path: path.to_string(),
            message,
        });
    }

    /// Maps one schema. `name` is the property name (for a derived title);
    /// `path` the data path (`spec.parameters.size`, `spec.items[]`).
    pub(crate) fn node(
        &mut self,
        s: &Value,
        name: Option<&str>,
        path: &str,
    ) -> Result<Value, Error> {
        let Value::Object(m) = s else {
            return match s {
                Value::Bool(_) => Ok(s.clone()),
                _ => Err(invalid(path, "a schema must be an object")),
            };
        };
        let mut out = heading(m, name);
        let flags = Flags::of(m);
        let ty = schema_type(m, path)?;
        if let Some(t) = type_keyword(ty, &flags) {
            out.insert("type".into(), t);
        }
        for (k, v) in m {
            if !self.subschema_keyword(&mut out, (k, v), m, &flags, path)? {
                self.plain_keyword(&mut out, (k, v), m, &flags, path);
            }
        }
        if flags.preserve && !out.contains_key("properties") {
            if ty == Some("object") && !out.contains_key("additionalProperties") {
                out.insert("additionalProperties".into(), json!(true));
            }
            out.entry("ui:field").or_insert(json!(YAML_FIELD));
        }
        if let Some(ui) = self.custom.ui.get(path) {
            for (k, v) in ui {
                out.insert(k.clone(), v.clone());
            }
        }
        Ok(Value::Object(out))
    }

    /// The keywords that hold schemas or field names, mapped recursively;
    /// false when `k` is none of them.
    fn subschema_keyword(
        &mut self,
        out: &mut Map<String, Value>,
        (k, v): (&String, &Value),
        m: &Map<String, Value>,
        flags: &Flags,
        path: &str,
    ) -> Result<bool, Error> {
        let mapped = match k.as_str() {
            "properties" => {
                let Value::Object(props) = v else {
                    return Err(invalid(&join(path, "properties"), "must be a mapping"));
                };
                Value::Object(self.properties(props, field(m, "required"), path)?)
            }
            "required" => {
                let Some(names) = v.as_array().filter(|a| a.iter().all(Value::is_string)) else {
                    return Err(invalid(
                        &join(path, "required"),
                        "must be a list of field names",
                    ));
                };
                Value::Array(names.clone())
            }
            "items" => match v {
                Value::Array(a) => Value::Array(
                    a.iter()
                        .map(|i| self.node(i, None, &[path, "[]"].concat()))
                        .collect::<Result<_, _>>()?,
                ),
                _ => self.node(v, None, &[path, "[]"].concat())?,
            },
            "additionalProperties" => match v {
                Value::Bool(_) => v.clone(),
                _ => self.node(v, None, &[path, ".*"].concat())?,
            },
            "allOf" | "anyOf" | "oneOf" => {
                let Value::Array(branches) = v else {
                    return Err(invalid(&join(path, k), "must be a list of schemas"));
                };
                if flags.int_or_string && branches.iter().all(is_plain_type) {
                    // Already said by the type list.
                    return Ok(true);
                }
                let mapped = branches
                    .iter()
                    .map(|b| self.node(b, None, path))
                    .collect::<Result<Vec<_>, _>>()?;
                Value::Array(mapped)
            }
            "not" => self.node(v, None, path)?,
            _ => return Ok(false),
        };
        out.insert(k.clone(), mapped);
        Ok(true)
    }

    /// Every other keyword: copied, respelled for draft-07, turned into
    /// form hints, or dropped (with a warning where the author would
    /// expect an effect).
    fn plain_keyword(
        &mut self,
        out: &mut Map<String, Value>,
        (k, v): (&String, &Value),
        m: &Map<String, Value>,
        flags: &Flags,
        path: &str,
    ) {
        match k.as_str() {
            "default" | "const" | "minLength" | "maxLength" | "minItems" | "maxItems"
            | "uniqueItems" | "minProperties" | "maxProperties" | "multipleOf" | "readOnly" => {
                out.insert(k.clone(), v.clone());
            }
            "minimum" | "maximum" => {
                let excl = if k == "minimum" {
                    "exclusiveMinimum"
                } else {
                    "exclusiveMaximum"
                };
                // OpenAPI 3.0's boolean form becomes draft-07's number.
                if flag(m, excl) {
                    out.insert(excl.into(), v.clone());
                } else {
                    out.insert(k.clone(), v.clone());
                }
            }
            "exclusiveMinimum" | "exclusiveMaximum" if v.is_number() => {
                out.insert(k.clone(), v.clone());
            }
            "enum" => {
                let mut values = v.as_array().cloned().unwrap_or_default();
                if flags.nullable && !values.contains(&Value::Null) {
                    values.push(Value::Null);
                }
                out.insert(k.clone(), Value::Array(values));
            }
            "pattern" => match v.as_str().map(js_pattern) {
                Some(Some(p)) => {
                    out.insert(k.clone(), Value::String(p));
                }
                _ => self.warn(
                    &join(path, "pattern"),
                    format!(
                        "pattern `{}` is not valid in the browser, left to claim validation",
                        display(v)
                    ),
                ),
            },
            "format" => {
                if let Some(f) = v.as_str().filter(|f| FORMATS.contains(f)) {
                    out.insert(k.clone(), json!(f));
                }
            }
            "example" => {
                out.insert("examples".into(), json!([v]));
            }
            "x-kubernetes-list-type" if v == "set" => {
                out.insert("uniqueItems".into(), json!(true));
            }
            "x-kubernetes-validations" => {
                if let Some(help) = validation_help(v) {
                    out.insert("ui:help".into(), Value::String(help));
                }
            }
            "x-ui-field" | "x-ui-widget" | "x-ui-options" | "x-ui-placeholder" => {
                out.insert(format!("ui:{}", &k["x-ui-".len()..]), v.clone());
            }
            "$ref" | "definitions" => self.warn(
                &join(path, k),
                format!("`{k}` is not allowed in a structural schema and was ignored"),
            ),
            k if k.starts_with("ui:") => {
                out.insert(k.to_string(), v.clone());
            }
            // Handled before the loop (title, description, type, nullable),
            // Kubernetes list/map semantics, x-ui-* handled by the parent,
            // and keywords a form cannot use.
            _ => {}
        }
    }

    /// Maps `properties`: drops hidden fields, orders the rest, records
    /// advanced ones. Keeps a hidden field that is required without a
    /// default, since the form could not be submitted otherwise.
    fn properties(
        &mut self,
        props: &Map<String, Value>,
        required: Option<&Value>,
        path: &str,
    ) -> Result<Map<String, Value>, Error> {
        let is_required = |k: &str| {
            required
                .and_then(Value::as_array)
                .is_some_and(|r| r.iter().any(|n| n == k))
        };
        let mut kept: Vec<(Option<f64>, usize, String, Value)> = Vec::new();
        let top = path == "spec";
        let empty = Map::new();
        for (i, (k, v)) in props.iter().enumerate() {
            if top && self.reserved.contains(&k.as_str()) {
                continue;
            }
            let child = join(path, k);
            let schema = v.as_object().unwrap_or(&empty);
            let set = |key: &str| flag(schema, key);
            let hidden = set("x-ui-hidden") || self.custom.hidden.contains(&child);
            if hidden {
                if is_required(k) && field(schema, "default").is_none() {
                    self.warn(
                        &child,
                        "required field without a default cannot be hidden; it is shown".into(),
                    );
                } else {
                    continue;
                }
            }
            if set("x-ui-advanced") || self.custom.advanced.contains(&child) {
                self.advanced.push(child.clone());
            }
            let order = self
                .custom
                .order
                .iter()
                .position(|p| *p == child)
                .map(|p| p as f64 - 1e9)
                .or_else(|| field(schema, "x-ui-order").and_then(Value::as_f64));
            let mapped = self.node(v, Some(k), &child)?;
            kept.push((order, i, k.clone(), mapped));
        }
        kept.sort_by(|a, b| match (a.0, b.0) {
            (Some(x), Some(y)) => x.total_cmp(&y).then(a.1.cmp(&b.1)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.1.cmp(&b.1),
        });
        Ok(kept.into_iter().map(|(_, _, k, v)| (k, v)).collect())
    }
}

/// Removes names from `required` that are no longer in `properties`, at
/// every depth (hidden and moved fields).
pub(crate) fn prune_required(s: &mut Value) {
    let Some(m) = s.as_object_mut() else { return };
    if let (Some(Value::Object(props)), Some(Value::Array(req))) =
        (field(m, "properties"), field(m, "required"))
    {
        let gone = |n: &Value| !n.as_str().is_some_and(|n| props.contains_key(n));
        // Most lists are whole: rewrite only those that lost a name; an
        // empty one goes.
        if req.is_empty() || req.iter().any(gone) {
            let kept: Vec<Value> = req.iter().filter(|n| !gone(n)).cloned().collect();
            if kept.is_empty() {
                m.remove("required");
            } else {
                m.insert("required".into(), Value::Array(kept));
            }
        }
    }
    for (k, v) in m.iter_mut() {
        match (k.as_str(), v) {
            ("properties", Value::Object(props)) => props.values_mut().for_each(prune_required),
            ("items" | "additionalProperties", v) => prune_required(v),
            _ => {}
        }
    }
}

fn is_plain_type(b: &Value) -> bool {
    b.as_object()
        .is_some_and(|o| o.len() == 1 && o.contains_key("type"))
}

/// `storageGB` → `Storage GB`, `instance_type` → `Instance Type`: words
/// split at `_ - . space` and at case changes (`vpcCIDRBlock` → `Vpc CIDR
/// Block`), each capitalised. One pass into one string: it runs for every
/// field of every form (issue 18).
pub fn title_of(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev: Option<char> = None;
    // Whether the current word has letters yet (the next one starts a word).
    let mut in_word = false;
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if matches!(c, '_' | '-' | '.' | ' ') {
            in_word = false;
            prev = Some(c);
            continue;
        }
        let next = chars.peek().copied();
        let boundary = c.is_uppercase()
            && prev.is_some_and(|p| {
                p.is_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_uppercase() && next.is_some_and(char::is_lowercase))
            });
        if in_word && !boundary {
            out.push(c);
        } else {
            if !out.is_empty() {
                out.push(' ');
            }
            out.extend(c.to_uppercase());
            in_word = true;
        }
        prev = Some(c);
    }
    out
}

/// A pattern as a browser (ajv, `u` flag) accepts it, or `None` when it
/// uses syntax JavaScript lacks (inline flags, `\A`, `\z`, POSIX classes).
/// Escapes of ordinary characters (`\-`, `\_`) are legal in Go and RE2 but
/// errors under the `u` flag; they mean the character itself, so the
/// backslash is dropped.
pub fn js_pattern(p: &str) -> Option<String> {
    let mut out = String::with_capacity(p.len());
    let mut chars = p.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let n = chars.next()?;
                match n {
                    'A' | 'z' | 'Z' | 'Q' | 'E' => return None,
                    'd'
                    | 'D'
                    | 'w'
                    | 'W'
                    | 's'
                    | 'S'
                    | 'b'
                    | 'B'
                    | 'n'
                    | 'r'
                    | 't'
                    | 'f'
                    | 'v'
                    | '0'..='9'
                    | 'x'
                    | 'u'
                    | 'p'
                    | 'P'
                    | 'c'
                    | 'k'
                    | '^'
                    | '$'
                    | '\\'
                    | '.'
                    | '*'
                    | '+'
                    | '?'
                    | '('
                    | ')'
                    | '['
                    | ']'
                    | '{'
                    | '}'
                    | '|'
                    | '/' => {
                        out.push('\\');
                        out.push(n);
                    }
                    '-' if in_class => out.push_str("\\-"),
                    other => out.push(other),
                }
            }
            '[' if !in_class => {
                if chars.peek() == Some(&'[') || p.contains("[:") {
                    return None;
                }
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '(' if !in_class && chars.peek() == Some(&'?') => {
                out.push(c);
                out.push('?');
                chars.next();
                match chars.peek() {
                    Some(':' | '=' | '!' | '<') => {}
                    _ => return None,
                }
                if chars.peek() == Some(&'<') {
                    out.push('<');
                    chars.next();
                    if chars.peek() == Some(&'P') {
                        return None;
                    }
                }
            }
            c => out.push(c),
        }
    }
    if in_class { None } else { Some(out) }
}

/// `path.key` (`key` alone at the top). Concatenated, not `format!`: it
/// runs for every field of every form (issue 18).
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        [path, ".", key].concat()
    }
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Kubernetes-only flags that change how a schema maps.
struct Flags {
    nullable: bool,
    int_or_string: bool,
    /// Free-form: `x-kubernetes-preserve-unknown-fields` or an embedded
    /// resource.
    preserve: bool,
}

impl Flags {
    fn of(m: &Map<String, Value>) -> Self {
        Self {
            nullable: flag(m, "nullable"),
            int_or_string: flag(m, "x-kubernetes-int-or-string"),
            preserve: flag(m, "x-kubernetes-preserve-unknown-fields")
                || flag(m, "x-kubernetes-embedded-resource"),
        }
    }
}

/// Title and description first: that is how people read the YAML.
fn heading(m: &Map<String, Value>, name: Option<&str>) -> Map<String, Value> {
    let mut out = Map::new();
    match (field(m, "title").and_then(Value::as_str), name) {
        (Some(t), _) => {
            out.insert("title".into(), json!(t));
        }
        (None, Some(n)) => {
            out.insert("title".into(), Value::String(title_of(n)));
        }
        _ => {}
    }
    if let Some(d) = field(m, "description").and_then(Value::as_str) {
        out.insert("description".into(), json!(d));
    }
    out
}

/// The schema's `type`, one of [`TYPES`] or none.
fn schema_type<'m>(m: &'m Map<String, Value>, path: &str) -> Result<Option<&'m str>, Error> {
    match field(m, "type") {
        None => Ok(None),
        Some(Value::String(t)) if TYPES.contains(&t.as_str()) => Ok(Some(t.as_str())),
        Some(Value::String(t)) if t.is_empty() => Ok(None),
        Some(other) => Err(invalid(
            &join(path, "type"),
            &format!(
                "unknown type `{}`, expected one of `{}`",
                display(other),
                TYPES.join("`, `")
            ),
        )),
    }
}

/// The form's `type`: int-or-string as a text field first (rjsf renders the
/// first type) that accepts numbers; `null` added for nullable fields.
fn type_keyword(ty: Option<&str>, flags: &Flags) -> Option<Value> {
    if flags.int_or_string {
        let mut t = vec![json!("string"), json!("integer")];
        if flags.nullable {
            t.push(json!("null"));
        }
        return Some(Value::Array(t));
    }
    ty.map(|t| {
        if flags.nullable {
            json!([t, "null"])
        } else {
            json!(t)
        }
    })
}

/// CEL validation messages (or their rules) as one help text, each a
/// sentence.
fn validation_help(rules: &Value) -> Option<String> {
    let sentences: Vec<String> = rules
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            r.get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| {
                    r.get("rule")
                        .and_then(Value::as_str)
                        .map(|rule| format!("Must satisfy `{rule}`."))
                })
        })
        .map(|h| if h.ends_with('.') { h } else { format!("{h}.") })
        .collect();
    (!sentences.is_empty()).then(|| sentences.join(" "))
}

fn invalid(path: &str, message: &str) -> Error {
    Error::Invalid {
        path: path.to_string(),
        message: message.to_string(),
    }
}
