//! Values built straight from the YAML parser's events, for the YAML that
//! nearly every definition is written in: mappings with string keys,
//! sequences, and scalars whose type is plain to see (issue 18: serde-saphyr's
//! deserializer took about twice as long as its parser on the corpus).
//!
//! The contract is narrow on purpose: [`documents`] returns `Some` only when
//! serde-saphyr, given the same budget, would return the same values.
//! Anything else (tags, anchors and aliases, merge keys, keys that are not
//! plainly strings, scalars whose type needs YAML's resolution rules, a
//! duplicate key, a parse error, a limit within reach) returns `None`, and the
//! caller hands the stream to serde-saphyr, which alone reports errors: their
//! wording and positions do not depend on this module.
use granit_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Number, Value};
use serde_saphyr::Budget;
use std::borrow::Cow;

/// A collection being built; a mapping holds the key waiting for its value.
enum Open {
    Sequence(Vec<Value>),
    Mapping(Map<String, Value>, Option<String>),
}

/// Every document of `input` but empty and null ones, or `None` when the
/// stream needs serde-saphyr.
pub(super) fn documents(input: &str, budget: &Budget) -> Option<Vec<Value>> {
    let mut tally = Tally::new(budget);
    let mut docs = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    let mut root: Option<Value> = None;
    for event in Parser::new_from_str_with_options(input, parser_options(budget)) {
        let (event, _) = event.ok()?;
        tally.event()?;
        let value = match event {
            Event::StreamStart | Event::StreamEnd => continue,
            // A `%YAML` directive may change how scalars resolve.
            Event::DocumentStart(_, version) => {
                tally.document()?;
                if version.is_some() {
                    return None;
                }
                continue;
            }
            // Empty and null documents are skipped, as serde-saphyr does.
            Event::DocumentEnd => {
                docs.extend(root.take().filter(|v| !v.is_null()));
                continue;
            }
            Event::Scalar(text, style, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                tally.scalar(text.len())?;
                if let Some(Open::Mapping(_, key @ None)) = open.last_mut() {
                    *key = Some(key_of(text, style)?);
                    continue;
                }
                scalar(text, style)?
            }
            Event::SequenceStart(_, anchor, tag) => {
                tally.collection(&open, anchor == 0 && tag.is_none())?;
                open.push(Open::Sequence(Vec::new()));
                continue;
            }
            Event::MappingStart(_, anchor, tag) => {
                tally.collection(&open, anchor == 0 && tag.is_none())?;
                open.push(Open::Mapping(Map::new(), None));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match open.pop()? {
                Open::Sequence(items) => Value::Array(items),
                Open::Mapping(map, None) => Value::Object(map),
                Open::Mapping(_, Some(_)) => return None,
            },
            // Aliases, and events the options above never ask for.
            _ => return None,
        };
        match open.last_mut() {
            None => root = Some(value),
            Some(Open::Sequence(items)) => items.push(value),
            Some(Open::Mapping(map, key)) => {
                // A duplicate key is serde-saphyr's error to report.
                if map.insert(key.take()?, value).is_some() {
                    return None;
                }
            }
        }
    }
    Some(docs)
}

/// The parser options serde-saphyr derives from `budget`, so both accept
/// exactly the same text.
fn parser_options(budget: &Budget) -> granit_parser::Options {
    let defaults = granit_parser::Options::default();
    let mut options = granit_parser::Options::default();
    options.emit_comments = false;
    options.simple_key_max_lookahead = budget.simple_key_max_lookahead;
    options.flow_nesting_limit = budget.flow_nesting_limit;
    options.block_nesting_limit = defaults.block_nesting_limit.max(budget.max_depth + 1);
    options
}

/// The budget as counted here: reaching any of its limits hands the stream
/// over (before the limit, so the breach is reported there).
struct Tally<'a> {
    budget: &'a Budget,
    events: usize,
    nodes: usize,
    documents: usize,
    scalar_bytes: usize,
}

impl<'a> Tally<'a> {
    fn new(budget: &'a Budget) -> Self {
        Self {
            budget,
            events: 0,
            nodes: 0,
            documents: 0,
            scalar_bytes: 0,
        }
    }

    fn event(&mut self) -> Option<()> {
        self.events += 1;
        (self.events < self.budget.max_events).then_some(())
    }

    fn node(&mut self) -> Option<()> {
        self.nodes += 1;
        (self.nodes < self.budget.max_nodes).then_some(())
    }

    /// A sequence or mapping about to open inside `open`: not anchored or
    /// tagged, not a mapping key, not deeper than the limit (the budget's
    /// depth counts the document too).
    fn collection(&mut self, open: &[Open], plain: bool) -> Option<()> {
        let as_key = matches!(open.last(), Some(Open::Mapping(_, None)));
        if !plain || as_key || open.len() + 1 >= self.budget.max_depth {
            return None;
        }
        self.node()
    }

    fn document(&mut self) -> Option<()> {
        self.documents += 1;
        (self.documents < self.budget.max_documents).then_some(())
    }

    fn scalar(&mut self, bytes: usize) -> Option<()> {
        self.scalar_bytes += bytes;
        self.node()?;
        (self.scalar_bytes < self.budget.max_total_scalar_bytes).then_some(())
    }
}

/// A mapping key: quoted and block scalars as written, plain ones only when
/// they read as strings (`1:`, `yes:`, `~:` and `<<:` are serde-saphyr's).
fn key_of(text: Cow<'_, str>, style: ScalarStyle) -> Option<String> {
    match scalar(text, style)? {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// A scalar's value: quoted and block scalars are strings; a plain one is
/// resolved here only in the forms whose type is certain, else `None`.
fn scalar(text: Cow<'_, str>, style: ScalarStyle) -> Option<Value> {
    if style != ScalarStyle::Plain {
        return Some(Value::String(text.into_owned()));
    }
    // The parser writes an empty value (`key:`) as `~`.
    if matches!(&*text, "" | "~" | "null" | "Null" | "NULL") {
        return Some(Value::Null);
    }
    let bytes = text.as_bytes();
    let first = bytes[0];
    if first.is_ascii_alphabetic() {
        return Some(boolean(&text).map_or_else(|| Value::String(text.into_owned()), Value::Bool));
    }
    if first.is_ascii_digit() || first == b'-' {
        return number(&text)
            .or_else(|| not_a_number(&text).then(|| Value::String(text.into_owned())));
    }
    // `.5`, `.inf` and `.nan` are numbers; `.status.phase` and `./bin` are not.
    if first == b'.' {
        let digit = bytes.get(1).is_some_and(u8::is_ascii_digit);
        let special = text.eq_ignore_ascii_case(".inf") || text.eq_ignore_ascii_case(".nan");
        return (!digit && !special).then(|| Value::String(text.into_owned()));
    }
    // `~x`, `+1`, `<<` (merge) and `=` (YAML 1.1's value key) are left to
    // serde-saphyr; other leading characters only start strings.
    if matches!(first, b'~' | b'+' | b'<' | b'=') {
        return None;
    }
    Some(Value::String(text.into_owned()))
}

/// The YAML 1.1 booleans serde-saphyr reads by default (`strict_booleans`
/// off), in any case.
fn boolean(text: &str) -> Option<bool> {
    const WORDS: [(&str, bool); 8] = [
        ("true", true),
        ("yes", true),
        ("y", true),
        ("on", true),
        ("false", false),
        ("no", false),
        ("n", false),
        ("off", false),
    ];
    if text.len() > 5 {
        return None;
    }
    WORDS
        .iter()
        .find(|(w, _)| text.eq_ignore_ascii_case(w))
        .map(|&(_, b)| b)
}

/// Text no number spelling serde-saphyr reads can match: a minus before
/// anything but a digit or a dot (`->`, `-foo`), or digits with a byte no
/// integer, float or radix form uses (`30s`, `10.0.0.0/8`).
fn not_a_number(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let numeric = |b: u8| b.is_ascii_hexdigit() || b"._+-xXoO:".contains(&b);
    match unsigned.as_bytes().first() {
        Some(b) if b.is_ascii_digit() => !unsigned.bytes().all(numeric),
        Some(b'.') | None => false,
        Some(_) => true,
    }
}

/// `0`, `12`, `-3` and `1.5`, `-0.25`; anything else (exponents, leading
/// zeros, underscores, radix prefixes, more than 18 digits) is `None`.
fn number(text: &str) -> Option<Value> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (whole.len() > 1 && whole.starts_with('0')) || unsigned.len() > 18 {
        return None;
    }
    match fraction {
        None if text.starts_with('-') => text.parse::<i64>().ok().map(Value::from),
        None => text.parse::<u64>().ok().map(Value::from),
        Some(f) if digits(f) => text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Limits, with_serde_saphyr};
    use super::*;
    use proptest::prelude::*;

    /// `documents` agrees with serde-saphyr whenever it answers; `taken`
    /// says whether it did.
    fn agrees(input: &str, limits: Limits) -> bool {
        let Some(got) = documents(input, &super::super::budget(limits)) else {
            return false;
        };
        let want = with_serde_saphyr(input, limits);
        assert_eq!(
            Ok(&got),
            want.as_ref().map_err(|e| e.to_string()),
            "{input:?}"
        );
        true
    }

    #[test]
    fn takes_common_yaml_and_hands_over_the_rest() {
        struct Case {
            reason: &'static str,
            input: &'static str,
            taken: bool,
        }
        let case = |reason, input, taken| Case {
            reason,
            input,
            taken,
        };
        let cases = [
            case(
                "mappings, sequences, strings",
                "a: {b: [x, 'y', \"z\"]}\nc: |\n  text\n",
                true,
            ),
            case(
                "numbers in the plain forms",
                "a: [0, 12, -3, 1.5, -0.25, 184467440737]\n",
                true,
            ),
            case(
                "words that are strings",
                "a: [yesterday, nope, offset, nulls, inf, nan, Infinity]\n",
                true,
            ),
            case(
                "paths and punctuation",
                "a: [.status.phase, /v1, $x, _y, '@z']\nb: ^[a-z]+$\n",
                true,
            ),
            case("empty documents and values", "---\n---\na:\nb: ''\n", true),
            case("nulls", "a: [~, null, Null, NULL]\n", true),
            case("null as a key", "~: 1\n", false),
            case("json is yaml", "{\"a\": [1, 2.5, \"x\"]}", true),
            case(
                "YAML 1.1 booleans in any case",
                "a: [yes, True, OFF, Y, n, false]\n",
                true,
            ),
            case("a boolean as a key", "on: push\n", false),
            case("a number as a key", "200: ok\n", false),
            case("exponents", "a: 1e3\n", false),
            case("leading zeros (octal in YAML 1.1)", "a: 0755\n", false),
            case("radix prefixes", "a: 0x1F\n", false),
            case("underscores", "a: 1_000\n", false),
            case("an explicit plus sign", "a: +1\n", false),
            case("more than 18 digits", "a: 12345678901234567890\n", false),
            case("non-finite floats", "a: .inf\n", false),
            case("a leading dot before a digit", "a: .5\n", false),
            case(
                "a leading minus before anything but a number",
                "a: [-foo, ->, -Infinity]\n",
                true,
            ),
            case(
                "digits that are no number",
                "a: [30s, 10.0.0.0/8, 1.2.3-beta]\nb: ./bin\nc: .\n",
                true,
            ),
            case("digits that may be a number", "a: 1.1.1.1\n", false),
            case("a date", "a: 2024-01-01\n", false),
            case("a leading minus and dot", "a: -.5\n", false),
            case("tags", "a: !!str 1\n", false),
            case("anchors and aliases", "a: &x 1\nb: *x\n", false),
            case("merge keys", "a: &x {b: 1}\nc:\n  <<: *x\n", false),
            case("a collection as a key", "? [a]\n: 1\n", false),
            case("duplicate keys", "a: 1\na: 2\n", false),
            case("a %YAML directive", "%YAML 1.2\n---\na: 1\n", false),
            case("a parse error", "a: {b: 1", false),
        ];
        for c in cases {
            assert_eq!(agrees(c.input, Limits::default()), c.taken, "{}", c.reason);
        }
    }

    #[test]
    fn hands_over_before_any_limit() {
        let limits = super::super::TEST_LIMITS;
        let cases = [
            ("depth at the limit is taken", "a: {b: {c: 1}}", true),
            ("deeper than the limit", "a: {b: {c: {d: 1}}}", false),
            ("nodes within the limit", "[1, 2, 3]", true),
            (
                "nodes reaching the limit",
                "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]",
                false,
            ),
        ];
        for (reason, input, taken) in cases {
            assert_eq!(agrees(input, limits), taken, "{reason}");
        }
        let most = super::super::budget(Limits::default()).max_documents;
        let docs = "a: 1\n---\n".repeat(most);
        assert!(
            !agrees(&docs, Limits::default()),
            "as many documents as serde-saphyr allows"
        );
    }

    /// Every file of the shared corpus reads the same both ways; nearly all
    /// are taken here (the rest use anchors, tags or YAML 1.1 spellings).
    #[test]
    fn agrees_with_serde_saphyr_on_the_corpus() {
        let Some(texts) = super::super::corpus_texts() else {
            return;
        };
        let taken = texts
            .iter()
            .filter(|t| agrees(t, Limits::default()))
            .count();
        eprintln!("{taken} of {} corpus files read directly", texts.len());
        assert!(
            texts.len() > 200 && taken * 10 >= texts.len() * 9,
            "{taken} of {}",
            texts.len()
        );
    }

    /// Plain scalars people write, and the ones YAML reads as something else.
    fn scalar_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z][a-zA-Z0-9_.-]{0,6}",
            "-?[0-9]{1,20}(\\.[0-9]{0,4})?",
            "[-+.~<=$/_^0-9][a-zA-Z0-9._/:+-]{0,5}",
            prop::sample::select(vec![
                "y", "Yes", "ON", "off", "n", "NO", "true", "False", "null", "Null", "~", "-0",
                "-0.0", "0.", ".5", "1e5", "0o17", "0x_1", "-.INF", ".NaN", "<<", "=", "-", "--",
                "1.2.3", "30s", "0b101", "1_0", "0755", "-0755", "1E+3", "0xFf", "-inf", ".",
                "./x",
            ])
            .prop_map(str::to_owned),
        ]
    }

    proptest! {
        #[test]
        fn agrees_on_generated_documents(
            entries in prop::collection::vec((scalar_text(), scalar_text(), 0..4u8), 1..8)
        ) {
            let mut yaml = String::new();
            for (key, value, shape) in &entries {
                let line = match shape {
                    0 => format!("{key}: {value}\n"),
                    1 => format!("{key}: [{value}]\n"),
                    2 => format!("{key}:\n  - {value}\n"),
                    _ => format!("{key}: {{k: {value}}}\n"),
                };
                yaml.push_str(&line);
            }
            // Generated text may not parse; both sides then agree it fails.
            agrees(&yaml, Limits::default());
        }

        /// What serde-saphyr writes, read back: nested blocks, folded and
        /// quoted text, numbers as it spells them.
        #[test]
        fn agrees_on_what_serde_saphyr_writes(v in super::super::generated::value()) {
            agrees(&super::super::with_serde_saphyr_writer(&v), Limits::default());
        }
    }
}
