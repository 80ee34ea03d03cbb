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
    /// Maximum YAML nodes (scalars, mappings, sequences, alias expansions
    /// included) per stream: bounds schema size and "billion laughs".
    pub max_nodes: usize,
    /// Maximum alias references per stream.
    pub max_aliases: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 4 * 1024 * 1024,
            // Deeper documents overflow a 2 MiB thread stack in debug builds
            // (recursive deserialisation); real XRD schemas stay well under.
            max_depth: 64,
            max_nodes: 250_000,
            max_aliases: 10_000,
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
    let docs: Vec<Value> = serde_saphyr::from_multiple_with_options(input, options(limits))
        .map_err(|e| Error::Parse(one_line(&e.to_string())))?;
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

/// The parser's budget from our limits, so alias expansion, node count and
/// nesting are bounded while parsing, before any value is built.
fn options(limits: Limits) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    // One extra level: the parser counts the document itself.
    budget.max_depth = limits.max_depth + 1;
    budget.flow_nesting_limit = limits.max_depth + 1;
    budget.max_nodes = limits.max_nodes;
    budget.max_events = limits.max_nodes.saturating_mul(4);
    budget.max_aliases = limits.max_aliases;
    budget.max_total_scalar_bytes = limits.max_bytes;
    budget.max_recorded_anchor_bytes = limits.max_bytes;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
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
            ..Limits::default()
        };
        assert!(matches!(
            from_yaml("a: 12345678901", limits),
            Err(Error::TooLarge { .. })
        ));
        assert!(matches!(
            from_yaml("[[[1]]]", limits),
            Err(Error::TooDeep { .. } | Error::Parse(_))
        ));
    }

    #[test]
    fn bounds_alias_expansion_and_nodes() {
        struct Case {
            reason: &'static str,
            input: String,
            ok: bool,
        }
        // Nine levels of ten aliases each: 10^9 nodes if expanded.
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let cases = [
            Case {
                reason: "billion laughs is refused while parsing",
                input: bomb,
                ok: false,
            },
            Case {
                reason: "a few aliases are fine",
                input: "a: &x {b: 1}\nc: *x\n".into(),
                ok: true,
            },
            Case {
                reason: "10k nested flow sequences are refused",
                input: "[".repeat(10_000),
                ok: false,
            },
            Case {
                reason: "depth 60 is within the default 64",
                input: format!("{}1{}", "[".repeat(60), "]".repeat(60)),
                ok: true,
            },
            Case {
                reason: "depth 100 is over the default 64",
                input: format!("{}1{}", "[".repeat(100), "]".repeat(100)),
                ok: false,
            },
            Case {
                reason: "more nodes than the limit are refused",
                input: format!("[{}]", vec!["1"; 300_000].join(",")),
                ok: false,
            },
        ];
        for c in cases {
            let start = std::time::Instant::now();
            let got = from_yaml(&c.input, Limits::default());
            assert_eq!(got.is_ok(), c.ok, "{}: {got:?}", c.reason);
            assert!(start.elapsed().as_secs() < 5, "{}: too slow", c.reason);
        }
    }
}
