//! Reading YAML/JSON documents into `serde_json::Value`, bounded so hostile
//! input (alias bombs, huge or deep documents) cannot exhaust the process.
use serde_json::Value;

mod direct;
mod emit;
mod wording;

/// Limits applied to every document we parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// A document has more nodes than allowed (alias expansions included).
    #[error("document has more than `{limit}` nodes")]
    TooManyNodes { limit: usize },
    /// A document uses more alias references than allowed.
    #[error("document uses more than `{limit}` aliases")]
    TooManyAliases { limit: usize },
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
    if let Some(docs) = direct::documents(input, &budget(limits)) {
        // `direct` skips null documents and hands over before any depth or
        // node limit, so the walk below would only repeat its counting.
        debug_assert!(
            docs.iter()
                .all(|d| !d.is_null() && check(d, limits).is_ok())
        );
        return Ok(docs);
    }
    // A tagged null document survives serde-saphyr's own skipping.
    let docs: Vec<Value> = with_serde_saphyr(input, limits)?
        .into_iter()
        .filter(|d| !d.is_null())
        .collect();
    for d in &docs {
        check(d, limits)?;
    }
    Ok(docs)
}

/// The whole of YAML, and every error's wording and position: streams
/// `direct` does not take, and the oracle its tests compare with.
fn with_serde_saphyr(input: &str, limits: Limits) -> Result<Vec<Value>, Error> {
    serde_saphyr::from_multiple_with_options(input, options(limits))
        .map_err(|e| breach(&e, limits).unwrap_or_else(|| Error::Parse(wording::for_parse(&e))))
}

/// Parses one JSON document under the same limits as YAML, for JSON that
/// callers send as text (e.g. claim values).
pub fn from_json(input: &str, limits: Limits) -> Result<Value, Error> {
    if input.len() > limits.max_bytes {
        return Err(Error::TooLarge {
            size: input.len(),
            limit: limits.max_bytes,
        });
    }
    // serde_json stops at 128 levels itself, so the recursion stays bounded
    // before our own, usually lower, depth limit applies.
    let value: Value = serde_json::from_str(input).map_err(|e| {
        if e.to_string().starts_with("recursion limit exceeded") {
            Error::TooDeep {
                limit: limits.max_depth,
            }
        } else {
            Error::Parse(format!("invalid json: {e}"))
        }
    })?;
    check(&value, limits)?;
    Ok(value)
}

/// Checks an already built value (e.g. decoded from protobuf) against the
/// depth and node limits.
pub fn check(value: &Value, limits: Limits) -> Result<(), Error> {
    let (depth, nodes) = shape(value);
    if depth > limits.max_depth {
        return Err(Error::TooDeep {
            limit: limits.max_depth,
        });
    }
    if nodes > limits.max_nodes {
        return Err(Error::TooManyNodes {
            limit: limits.max_nodes,
        });
    }
    Ok(())
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
    emit::to_yaml(value).unwrap_or_else(|| with_serde_saphyr_writer(value))
}

/// serde-saphyr's text for `value`: what `emit` does not lay out, and the
/// oracle its tests compare with.
fn with_serde_saphyr_writer(value: &Value) -> String {
    // Serialising a `serde_json::Value` cannot fail: every key is a string.
    serde_saphyr::to_string(value).unwrap_or_default()
}

/// The parser's budget from our limits, so alias expansion, node count and
/// nesting are bounded while parsing, before any value is built.
fn options(limits: Limits) -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget(limits));
    options
}

/// serde-saphyr's budget from our limits; `direct` counts against the same
/// one.
fn budget(limits: Limits) -> serde_saphyr::Budget {
    let mut budget = serde_saphyr::Budget::default();
    // One extra level: the parser counts the document itself.
    budget.max_depth = limits.max_depth + 1;
    budget.flow_nesting_limit = limits.max_depth + 1;
    budget.max_nodes = limits.max_nodes;
    budget.max_events = limits.max_nodes.saturating_mul(4);
    budget.max_aliases = limits.max_aliases;
    budget.max_total_scalar_bytes = limits.max_bytes;
    budget.max_recorded_anchor_bytes = limits.max_bytes;
    budget
}

/// Our error for a parser budget breach, naming the limit it hit; `None`
/// for breaches without a limit of ours (the parser's message is kept).
fn breach(e: &serde_saphyr::Error, limits: Limits) -> Option<Error> {
    use serde_saphyr::budget::BudgetBreach as B;
    let mut e = e;
    // The breach may be wrapped in alias or snippet context.
    while let serde_saphyr::Error::AliasError { error, .. }
    | serde_saphyr::Error::WithSnippet { error, .. } = e
    {
        e = &**error;
    }
    let breach = match e {
        serde_saphyr::Error::Budget { breach, .. } => breach,
        // The scanner's own flow nesting limit, set from `max_depth`.
        serde_saphyr::Error::ExternalMessage { msg, .. } if msg == "recursion limit exceeded" => {
            return Some(Error::TooDeep {
                limit: limits.max_depth,
            });
        }
        _ => return None,
    };
    Some(match breach {
        B::Depth { .. } => Error::TooDeep {
            limit: limits.max_depth,
        },
        B::Nodes { .. } | B::Events { .. } => Error::TooManyNodes {
            limit: limits.max_nodes,
        },
        B::Aliases { .. } | B::AliasAnchorRatio { .. } => Error::TooManyAliases {
            limit: limits.max_aliases,
        },
        B::ScalarBytes { total_scalar_bytes } => Error::TooLarge {
            size: *total_scalar_bytes,
            limit: limits.max_bytes,
        },
        other => Error::Parse(wording::for_breach(other)),
    })
}

/// Nesting depth of `v` and the values in it, itself included: one walk,
/// as every parsed document goes through it (issue 18).
fn shape(v: &Value) -> (usize, usize) {
    fn of<'a>(children: impl Iterator<Item = &'a Value>) -> (usize, usize) {
        children.fold((1, 1), |(depth, nodes), c| {
            let (d, n) = shape(c);
            (depth.max(d + 1), nodes + n)
        })
    }
    match v {
        Value::Array(a) => of(a.iter()),
        Value::Object(o) => of(o.values()),
        _ => (0, 1),
    }
}

/// Limits short test inputs reach.
#[cfg(test)]
const TEST_LIMITS: Limits = Limits {
    max_bytes: 1000,
    max_depth: 3,
    max_nodes: 20,
    max_aliases: 2,
};

/// Every YAML file of the shared corpus (`../shared/corpus`), for tests
/// that compare with serde-saphyr; `None` (a skip) when it is absent, which
/// fails under CI.
#[cfg(test)]
fn corpus_texts() -> Option<Vec<String>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if !root.is_dir() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        assert!(
            !ci,
            "corpus not found at `{}`, and CI=true requires it",
            root.display()
        );
        eprintln!("skipping: corpus not found at `{}`", root.display());
        return None;
    }
    let (mut texts, mut dirs) = (Vec::new(), vec![root]);
    while let Some(dir) = dirs.pop() {
        for path in std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
        {
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                texts.extend(std::fs::read_to_string(&path).ok());
            }
        }
    }
    Some(texts)
}

/// Generated values for the property tests of `direct` and `emit`.
#[cfg(test)]
mod generated {
    use proptest::prelude::*;
    use serde_json::Value;

    /// Strings people write, and the ones YAML reads as something else.
    pub(super) fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z$/^(][a-zA-Z0-9 ._/:{}$-]{0,12}",
            "[ -~]{0,12}",
            "[a-z ]{70,120}",
            "( ?[a-z#:-]{1,8}\n{0,3}){1,5}",
            prop::sample::select(vec![
                "y",
                "ON",
                "null",
                "~",
                "-",
                "1.5",
                "0o7",
                "2024-01-01",
                "<<",
                "é",
                "\t"
            ])
            .prop_map(str::to_owned),
        ]
    }

    /// Values nested four deep, with every kind of scalar.
    pub(super) fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            text().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((text(), inner), 0..5)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }
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
        // No wall-clock check: under a loaded CI machine it failed a correct
        // parser; the node and alias limits are what bound the work.
        for c in cases {
            let got = from_yaml(&c.input, Limits::default());
            assert_eq!(got.is_ok(), c.ok, "{}: {got:?}", c.reason);
        }
    }

    #[test]
    fn names_the_limit_each_input_hits() {
        struct Case {
            reason: &'static str,
            input: String,
            json: bool,
            want: &'static str,
        }
        let limits = TEST_LIMITS;
        let cases = [
            Case {
                reason: "yaml over the byte limit",
                input: format!("a: {}", "x".repeat(1000)),
                json: false,
                want: "document is `1003` bytes, over the limit of `1000` bytes",
            },
            Case {
                reason: "json over the byte limit",
                input: format!("\"{}\"", "x".repeat(1000)),
                json: true,
                want: "document is `1002` bytes, over the limit of `1000` bytes",
            },
            Case {
                reason: "yaml block mappings deeper than the limit",
                input: "a:\n b:\n  c:\n   d: 1\n".into(),
                json: false,
                want: "document nests deeper than `3` levels",
            },
            Case {
                reason: "yaml flow sequences far deeper than the limit",
                input: format!("{}1{}", "[".repeat(50), "]".repeat(50)),
                json: false,
                want: "document nests deeper than `3` levels",
            },
            Case {
                reason: "json deeper than the limit",
                input: "[[[[1]]]]".into(),
                json: true,
                want: "document nests deeper than `3` levels",
            },
            Case {
                reason: "json deeper than serde_json's own limit",
                input: format!("{}1{}", "[".repeat(200), "]".repeat(200)),
                json: true,
                want: "document nests deeper than `3` levels",
            },
            Case {
                reason: "yaml with more nodes than the limit",
                input: format!("[{}]", vec!["1"; 30].join(",")),
                json: false,
                want: "document has more than `20` nodes",
            },
            Case {
                reason: "json with more nodes than the limit",
                input: format!("[{}]", vec!["1"; 30].join(",")),
                json: true,
                want: "document has more than `20` nodes",
            },
            Case {
                reason: "yaml with more aliases than the limit",
                input: "a: &a 1\nb: *a\nc: *a\nd: *a\n".into(),
                json: false,
                want: "document uses more than `2` aliases",
            },
        ];
        for c in cases {
            let got = if c.json {
                from_json(&c.input, limits)
            } else {
                from_yaml(&c.input, limits)
            };
            let got = got.map_err(|e| e.to_string());
            assert_eq!(got, Err(c.want.to_string()), "{}", c.reason);
        }
    }
}
