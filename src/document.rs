//! Reading YAML/JSON documents into `serde_json::Value`, bounded so hostile
//! input (alias bombs, huge or deep documents) cannot exhaust the process.
use serde_json::Value;

/// Limits applied to every document we parse.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum input size in bytes.
    pub max_bytes: usize,
    /// Maximum nesting depth of mappings and sequences.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 4 * 1024 * 1024,
            max_depth: 128,
        }
    }
}

/// Errors from reading documents.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is larger than allowed.
    #[error("document is `{size}` bytes, over the limit of `{limit}` bytes")]
    TooLarge { size: usize, limit: usize },
    /// The YAML could not be parsed.
    #[error("invalid yaml: {0}")]
    Parse(String),
    /// A document nests deeper than allowed.
    #[error("document nests deeper than `{limit}` levels")]
    TooDeep { limit: usize },
}

/// Parses every document of a YAML (or JSON) stream. Empty documents are
/// skipped.
pub fn from_yaml_stream(input: &str, limits: Limits) -> Result<Vec<Value>, Error> {
    if input.len() > limits.max_bytes {
        return Err(Error::TooLarge {
            size: input.len(),
            limit: limits.max_bytes,
        });
    }
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(input).map_err(|e| Error::Parse(one_line(&e.to_string())))?;
    let docs: Vec<Value> = docs.into_iter().filter(|d| !d.is_null()).collect();
    for d in &docs {
        if depth(d) > limits.max_depth {
            return Err(Error::TooDeep {
                limit: limits.max_depth,
            });
        }
    }
    Ok(docs)
}

/// Parses exactly one document.
pub fn from_yaml(input: &str, limits: Limits) -> Result<Value, Error> {
    let mut docs = from_yaml_stream(input, limits)?;
    match docs.len() {
        1 => Ok(docs.remove(0)),
        0 => Err(Error::Parse("no document found".into())),
        n => Err(Error::Parse(format!("expected one document, found `{n}`"))),
    }
}

/// Serialises a value as a YAML document.
pub fn to_yaml(value: &Value) -> String {
    // Serialising a `serde_json::Value` cannot fail: every key is a string.
    serde_saphyr::to_string(value).unwrap_or_default()
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_streams_and_rejects_bad_input() {
        struct Case {
            reason: &'static str,
            input: &'static str,
            docs: Option<usize>,
        }
        let cases = [
            Case {
                reason: "two documents separated by ---",
                input: "a: 1\n---\nb: 2\n",
                docs: Some(2),
            },
            Case {
                reason: "empty documents are skipped",
                input: "---\n---\na: 1\n",
                docs: Some(1),
            },
            Case {
                reason: "json is yaml",
                input: "{\"a\": [1, 2]}",
                docs: Some(1),
            },
            Case {
                reason: "unclosed flow mapping is a parse error",
                input: "a: {b: 1",
                docs: None,
            },
        ];
        for c in cases {
            let got = from_yaml_stream(c.input, Limits::default())
                .ok()
                .map(|d| d.len());
            assert_eq!(got, c.docs, "{}", c.reason);
        }
    }

    #[test]
    fn bounds_size_and_depth() {
        let limits = Limits {
            max_bytes: 10,
            max_depth: 2,
        };
        assert!(matches!(
            from_yaml("a: 12345678901", limits),
            Err(Error::TooLarge { .. })
        ));
        assert!(matches!(
            from_yaml("[[[1]]]", limits),
            Err(Error::TooDeep { .. })
        ));
    }
}
