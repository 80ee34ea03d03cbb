//! Values written as block YAML without serde's machinery, in exactly the
//! text serde-saphyr writes (issue 18: its serializer was a third of
//! `osp convert`, most of it deciding how to write keys and strings that
//! need nothing but copying).
//!
//! The layout (indentation, `- ` items, `key:` lines, `{}` and `[]`) is
//! written here. Each string, key or float that is not plainly safe to copy
//! is handed to serde-saphyr alone and its text placed in the layout; a
//! block scalar (`|`, `>`) is re-indented to its place. [`to_yaml`]
//! returns `None` for what it does not lay out (a scalar or an empty
//! collection as the document, over-long keys), and the caller writes that
//! value with serde-saphyr. The tests compare both on every corpus entity
//! and on generated values, so a serde-saphyr upgrade that changes its
//! style fails them instead of mixing two styles in one file.
use serde_json::{Map, Value};

/// serde-saphyr's indentation step and the width past which it folds a
/// single-line string (`SerializerOptions::default()`).
const INDENT: usize = 2;
const FOLD_WIDTH: usize = 80;

/// Longest key serde-saphyr writes as `key:`; longer ones become `? key`.
const SIMPLE_KEY_MAX: usize = 1024;

/// Where a value goes: after `key:` (the key at `column`) or after `- `
/// (the dash at `column`).
#[derive(Clone, Copy)]
enum Place {
    Value { column: usize },
    Item { column: usize },
}

impl Place {
    /// What separates the value from `key:` or `- `.
    fn gap(self) -> &'static str {
        match self {
            Place::Value { .. } => " ",
            Place::Item { .. } => "",
        }
    }

    /// The column of a block scalar's body: one step past the key or dash.
    fn body(self) -> usize {
        match self {
            Place::Value { column } | Place::Item { column } => column + INDENT,
        }
    }
}

/// `value` as the text of one YAML document, or `None` when serde-saphyr
/// must write it.
pub(super) fn to_yaml(value: &Value) -> Option<String> {
    // Entities run from 2 KB to several hundred; starting at 32 KB spares
    // most of the copies a doubling buffer makes.
    let mut out = String::with_capacity(32 * 1024);
    match value {
        Value::Object(map) if !map.is_empty() => entries(&mut out, map, 0, false)?,
        Value::Array(items) if !items.is_empty() => sequence(&mut out, items, 0, false)?,
        _ => return None,
    }
    Some(out)
}

/// A mapping's entries, keys at `column`; the first on the current line
/// when `inline` (right after `- `).
fn entries(out: &mut String, map: &Map<String, Value>, column: usize, inline: bool) -> Option<()> {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 || !inline {
            crate::indent::push(out, column);
        }
        write_key(out, key)?;
        out.push(':');
        node(out, value, Place::Value { column })?;
    }
    Some(())
}

/// A sequence's items, dashes at `column`; the first on the current line
/// when `inline`.
fn sequence(out: &mut String, items: &[Value], column: usize, inline: bool) -> Option<()> {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !inline {
            crate::indent::push(out, column);
        }
        out.push_str("- ");
        node(out, item, Place::Item { column })?;
    }
    Some(())
}

/// One value at `place`, through its last line break. Block sequences under
/// a key stay at the key's column (serde-saphyr's compact list indent).
fn node(out: &mut String, value: &Value, place: Place) -> Option<()> {
    match (value, place) {
        (Value::Object(map), _) if map.is_empty() => line(out, place.gap(), "{}"),
        (Value::Array(items), _) if items.is_empty() => line(out, place.gap(), "[]"),
        (Value::Object(map), Place::Value { column }) => {
            out.push('\n');
            entries(out, map, column + INDENT, false)?;
        }
        (Value::Object(map), Place::Item { column }) => entries(out, map, column + INDENT, true)?,
        (Value::Array(items), Place::Value { column }) => {
            out.push('\n');
            sequence(out, items, column, false)?;
        }
        (Value::Array(items), Place::Item { column }) => {
            sequence(out, items, column + INDENT, true)?;
        }
        (Value::Null, _) => line(out, place.gap(), "null"),
        (Value::Bool(b), _) => line(out, place.gap(), if *b { "true" } else { "false" }),
        (Value::Number(n), _) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => line(out, place.gap(), &u.to_string()),
            (None, Some(i)) => line(out, place.gap(), &i.to_string()),
            _ => line(
                out,
                place.gap(),
                serde_saphyr::to_string(value).ok()?.trim_end_matches('\n'),
            ),
        },
        (Value::String(s), _) if plain_value(s) => line(out, place.gap(), s),
        // Folded only when plain: quoted whatever its length.
        (Value::String(s), _) if quoted_as_is(s, ": ") => {
            quoted(out, place.gap(), s);
            out.push('\n');
        }
        (Value::String(s), _) if plain_lines(s) => literal(out, s, place),
        (Value::String(s), _) => scalar(out, s, place)?,
    }
    Some(())
}

fn quoted(out: &mut String, gap: &str, s: &str) {
    out.push_str(gap);
    out.push('"');
    out.push_str(s);
    out.push('"');
}

fn line(out: &mut String, gap: &str, text: &str) {
    out.push_str(gap);
    out.push_str(text);
    out.push('\n');
}

/// A multi-line string as serde-saphyr writes one that [`plain_lines`]
/// accepts: `|` with `-` (no final line break), nothing (one) or `+`
/// (more), then each line at the body's column, empty lines bare.
fn literal(out: &mut String, s: &str, place: Place) {
    let content = s.trim_end_matches('\n');
    let chomp = match s.len() - content.len() {
        0 => "-",
        1 => "",
        _ => "+",
    };
    out.push_str(place.gap());
    out.push('|');
    out.push_str(chomp);
    out.push('\n');
    for text in content.split('\n') {
        if !text.is_empty() {
            crate::indent::push(out, place.body());
            out.push_str(text);
        }
        out.push('\n');
    }
    // Kept final line breaks past the first are empty lines.
    let extra = (s.len() - content.len()).saturating_sub(1);
    out.extend(std::iter::repeat_n('\n', extra));
}

/// Multi-line text serde-saphyr writes as a literal block without an
/// indentation indicator: printable ASCII and line breaks, starting with
/// neither a space nor a line break.
fn plain_lines(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.first().is_some_and(|b| *b != b' ' && *b != b'\n')
        && bytes.contains(&b'\n')
        && printable_lines(bytes)
}

/// Only printable ASCII and line breaks; branch-free within each chunk so
/// the compiler can vectorise it (API definitions run to hundreds of KB).
fn printable_lines(bytes: &[u8]) -> bool {
    bytes.chunks(64).all(|chunk| {
        chunk.iter().fold(true, |ok, &b| {
            ok & ((b.wrapping_sub(b' ') < 95) | (b == b'\n'))
        })
    })
}

/// A string serde-saphyr quotes, folds or writes as a block: its own text
/// for the string as a document, a block scalar's body moved from serde-
/// saphyr's column (one step) to `place`'s.
fn scalar(out: &mut String, s: &str, place: Place) -> Option<()> {
    let text = serde_saphyr::to_string(&s).ok()?;
    out.push_str(place.gap());
    if !(text.starts_with('|') || text.starts_with('>')) {
        // Quoted or plain: one line.
        return (text.ends_with('\n') && text.matches('\n').count() == 1)
            .then(|| out.push_str(&text));
    }
    let mut lines = text.split_inclusive('\n');
    out.push_str(lines.next()?);
    for body in lines {
        match body.strip_prefix("  ") {
            Some(rest) => {
                crate::indent::push(out, place.body());
                out.push_str(rest);
            }
            // Empty lines carry no indentation.
            None if body == "\n" => out.push('\n'),
            None => return None,
        }
    }
    Some(())
}

/// A key as serde-saphyr writes it: plain when plainly safe, in double
/// quotes when it holds a `:` and nothing to escape, else serde-saphyr's
/// own text for a one-entry mapping, up to the `:`.
fn write_key(out: &mut String, key: &str) -> Option<()> {
    if key.len() > SIMPLE_KEY_MAX {
        return None;
    }
    if plain_key(key) {
        out.push_str(key);
        return Some(());
    }
    if quoted_as_is(key, ":") {
        quoted(out, "", key);
        return Some(());
    }
    let one = Map::from_iter([(key.to_owned(), Value::Null)]);
    let text = serde_saphyr::to_string(&one).ok()?;
    let written = text.strip_suffix(": null\n")?;
    (!written.starts_with("? ") && !written.contains('\n')).then(|| out.push_str(written))
}

/// Strings that read back as themselves when copied as a plain scalar in a
/// value, and that serde-saphyr copies: one short line of printable ASCII
/// starting with a letter or one of `$/^(`, no `: `, no trailing `:` or
/// space, no `#`, and not a word YAML 1.1 reads as a boolean, null or
/// number.
fn plain_value(s: &str) -> bool {
    s.len() <= FOLD_WIDTH && plain_text(s, Class::Value)
}

/// Keys copied as they are: as [`plain_value`] and also without `:` or
/// the characters flow collections use (serde-saphyr's keys may be written
/// in either style).
fn plain_key(s: &str) -> bool {
    plain_text(s, Class::Key)
}

/// How a byte may appear in a plain scalar; a byte allowed in a key is
/// allowed in a value.
#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum Class {
    /// Not printable ASCII, or `#` (which may start a comment).
    Never,
    /// `:` (a mapping if a space follows), `,`, `[`, `]`, `{` and `}`.
    Value,
    Key,
}

/// Each byte's [`Class`], built once.
static CLASSES: [Class; 256] = {
    let mut table = [Class::Never; 256];
    let mut b = b' ';
    while b <= b'~' {
        table[b as usize] = match b {
            b'#' => Class::Never,
            b':' | b',' | b'[' | b']' | b'{' | b'}' => Class::Value,
            _ => Class::Key,
        };
        b += 1;
    }
    table
};

/// Printable ASCII starting plainly, not ending with a space or `:`,
/// every byte at least `at_least`, no `: `, and not one of YAML's special
/// words.
fn plain_text(s: &str, at_least: Class) -> bool {
    let bytes = s.as_bytes();
    let Some((first, last)) = bytes.first().zip(bytes.last()) else {
        return false;
    };
    // A letter, or a character YAML gives no meaning at the start (`${{`
    // expressions, paths, regular expressions); never a digit, sign, dot
    // or `_`, which may start a number.
    let starts = first.is_ascii_alphabetic() || matches!(first, b'$' | b'/' | b'^' | b'(');
    if !starts || matches!(last, b' ' | b':') {
        return false;
    }
    let mut previous = 0;
    for &b in bytes {
        if CLASSES[b as usize] < at_least || (previous == b':' && b == b' ') {
            return false;
        }
        previous = b;
    }
    !special_word(s)
}

/// One line of printable ASCII that serde-saphyr writes in double quotes
/// as it is: it holds `needle` (`: ` in a value, `:` in a key, neither
/// of which it writes plain) and nothing it escapes.
fn quoted_as_is(s: &str, needle: &str) -> bool {
    s.bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
        && s.contains(needle)
}

/// The words serde-saphyr quotes so they are not read as a boolean, null,
/// infinity or not-a-number (YAML 1.1 spellings included), in any case.
fn special_word(s: &str) -> bool {
    const WORDS: [&str; 11] = [
        "null", "true", "false", "nan", "inf", "y", "n", "yes", "no", "on", "off",
    ];
    s.len() <= 5 && WORDS.iter().any(|w| s.eq_ignore_ascii_case(w))
}

#[cfg(test)]
mod tests {
    use super::super::with_serde_saphyr_writer;
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// `to_yaml` writes what serde-saphyr writes whenever it answers.
    fn agrees(value: &Value) -> bool {
        let Some(got) = to_yaml(value) else {
            return false;
        };
        assert_eq!(got, with_serde_saphyr_writer(value), "{value}");
        true
    }

    #[test]
    fn lays_out_what_serde_saphyr_lays_out() {
        let long = "a long line of words that goes on well past the eighty columns where folding starts, and then some more";
        let cases = [
            (
                "nested mappings and sequences",
                json!({"a": {"b": [{"c": 1, "d": [1, 2], "e": {"f": "x"}}, {"g": []}, "s", {"h": {}}]}}),
            ),
            (
                "sequences in sequences",
                json!({"n": [["a", "b"], ["c", [1, {"k": "v"}]]]}),
            ),
            (
                "scalars of every kind",
                json!({"o": null, "p": true, "q": 1.5, "r": -2, "s": 1e21, "t": 18446744073709551615u64}),
            ),
            (
                "literal blocks after keys and dashes",
                json!({"i": "l1\nl2", "j": "  lead\nx\n", "k": "end\n", "l": [{"m": "a\n\nb\n\n\n"}], "t": ["x\ny"]}),
            ),
            (
                "folded lines after keys and dashes",
                json!({"a": long, "k": [{"a": long}, long]}),
            ),
            (
                "strings that need quotes",
                json!({"a": ["", "-", ".", "#", "yes", "No", "null", "1", "0x1F", "a: b", "a #b", "é", "tab\there", " lead", "trail ", "x:"]}),
            ),
            (
                "keys that need quotes",
                json!({"n": 1, "ui:field": 2, "a b": 3, "Yes": 4, "1": 5, "": 6, "é": 7, "[x]": 8, "a\nb": 9}),
            ),
        ];
        for (reason, value) in cases {
            assert!(agrees(&value), "{reason}");
        }
    }

    #[test]
    fn leaves_documents_that_are_not_collections_to_serde_saphyr() {
        for value in [json!("x"), json!(1), json!(null), json!({}), json!([])] {
            assert!(!agrees(&value), "{value}");
        }
        let long_key = json!({ "k".repeat(SIMPLE_KEY_MAX + 1): 1 });
        assert!(!agrees(&long_key), "an over-long key");
    }

    /// The Template and API of every definition in the shared corpus.
    #[test]
    fn agrees_with_serde_saphyr_on_every_corpus_entity() {
        let Some(texts) = super::super::corpus_texts() else {
            return;
        };
        let limits = super::super::Limits::default();
        let docs = texts
            .iter()
            .filter_map(|t| super::super::from_yaml_stream(t, limits).ok());
        let (mut entities, mut laid_out) = (0, 0);
        for doc in docs.flatten() {
            let Ok(c) = crate::convert::for_entities(&doc) else {
                continue;
            };
            for e in [&c.template, &c.api] {
                entities += 1;
                laid_out += usize::from(agrees(e));
            }
        }
        eprintln!("{laid_out} of {entities} corpus entities laid out here");
        assert!(
            entities > 300 && laid_out == entities,
            "{laid_out} of {entities}"
        );
    }

    proptest! {
        #[test]
        fn agrees_on_generated_values(v in super::super::generated::value()) {
            agrees(&v);
        }
    }
}
