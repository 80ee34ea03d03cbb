//! The parser's failures in our words: the position first (`line L, column
//! C`), then the rule the input broke, without the parser's advice to its
//! own API users (`set DuplicateKeyPolicy in Options`) or Rust debug text.

/// Our message for a parse failure: position and rule on one line.
pub(super) fn for_parse(e: &serde_saphyr::Error) -> String {
    let inner = e.without_snippet();
    let mut text = one_line(&inner.to_string());
    // The parser appends the position; we put it first.
    if let Some(at) = text.rfind(" at line ") {
        text.truncate(at);
    }
    let rule = for_rule(&text);
    match e.location() {
        Some(l) => format!("line {}, column {}: {rule}", l.line(), l.column()),
        None => rule,
    }
}

/// One parser message rewritten, or kept when it already says what is
/// wrong in plain words.
fn for_rule(text: &str) -> String {
    if let Some(rest) = text.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        return format!("duplicate key `{key}`: a mapping may name each key once");
    }
    match text {
        "recursive references require weak recursion types" => {
            "an alias refers to its own anchor (a recursive alias): a document must be a tree"
                .into()
        }
        "alias references unknown anchor" => {
            "an alias (`*name`) refers to an anchor (`&name`) not defined before it".into()
        }
        t if t.contains("invalid utf-8") || t.contains("Invalid UTF-8") => {
            "the input is not UTF-8 text".into()
        }
        t => t.to_owned(),
    }
}

/// A budget breach without a limit of ours, named in words.
pub(super) fn for_breach(b: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    let defaults = serde_saphyr::Budget::default();
    match b {
        B::Documents { .. } => format!(
            "the stream holds more than `{}` documents",
            defaults.max_documents
        ),
        B::Anchors { .. } => format!(
            "the document defines more than `{}` anchors",
            defaults.max_anchors
        ),
        B::MergeKeys { .. } => format!(
            "the document uses more than `{}` merge keys (`<<`)",
            defaults.max_merge_keys
        ),
        B::InputBytes { input_bytes } => {
            format!("the input is `{input_bytes}` bytes, over the parser's limit")
        }
        B::SequenceUnbalanced => "the document's collections do not close".into(),
        _ => "the document is too large or too nested for the parser".into(),
    }
}

/// Whitespace runs as one space: messages stay on one line.
pub(super) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::super::{Error, Limits, from_yaml_stream};

    #[test]
    fn parse_failures_name_position_and_rule_in_our_words() {
        struct Case {
            reason: &'static str,
            input: &'static str,
            want: &'static str,
        }
        let cases = [
            Case {
                reason: "a duplicate key names the key, not the parser's options",
                input: "a: 1\na: 2\n",
                want: "invalid yaml: line 2, column 1: duplicate key `a`: a mapping may name each key once",
            },
            Case {
                reason: "a recursive alias in words",
                input: "a: &x [*x]\n",
                want: "invalid yaml: line 1, column 8: an alias refers to its own anchor (a recursive alias): a document must be a tree",
            },
            Case {
                reason: "an unknown anchor",
                input: "a: *nope\n",
                want: "invalid yaml: line 1, column 4: an alias (`*name`) refers to an anchor (`&name`) not defined before it",
            },
            Case {
                reason: "the parser's own plain message keeps its words, position first",
                input: "a: [1, 2\n",
                want: "invalid yaml: line 1, column 4: unclosed bracket '['",
            },
            Case {
                reason: "no snippet: one line",
                input: "- a\nb: c\n",
                want: "invalid yaml: line 2, column 1: while parsing a block collection, did not find expected '-' indicator",
            },
        ];
        for c in cases {
            let got = from_yaml_stream(c.input, Limits::default()).expect_err(c.reason);
            assert_eq!(got.to_string(), c.want, "{}", c.reason);
        }
    }

    #[test]
    fn budget_breaches_without_a_limit_of_ours_are_words_not_debug_text() {
        let stream = "---\na: 1\n".repeat(1100);
        let got = from_yaml_stream(&stream, Limits::default()).expect_err("too many documents");
        assert!(matches!(got, Error::Parse(_)), "{got:?}");
        assert_eq!(
            got.to_string(),
            "invalid yaml: the stream holds more than `1024` documents"
        );
    }
}
