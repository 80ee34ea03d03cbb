//! Pretty JSON text, byte for byte what `serde_json::to_string_pretty`
//! writes (two-space indent), written straight into one `String`: no
//! `Serialize` round trip, each line's indentation in one copy, and strings
//! scanned eight bytes at a time for what needs escaping. Through serde_json,
//! its byte-by-byte escaping alone was a seventh of a conversion (issue 18).
use std::fmt::Write;

use serde_json::Value;

/// A JSON text being written.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    out: String,
    level: usize,
}

/// The entries of an object being written (see [`Writer::object`]).
pub(crate) struct Object<'w> {
    w: &'w mut Writer,
    empty: bool,
}

impl Writer {
    /// The text written so far.
    pub(crate) fn finish(self) -> String {
        self.out
    }

    fn newline(&mut self, prefix: &str) {
        self.out.push_str(prefix);
        crate::indent::push(&mut self.out, self.level * 2);
    }

    /// An object whose entries `body` writes; `{}` when it writes none.
    pub(crate) fn object(&mut self, body: impl FnOnce(&mut Object<'_>)) {
        self.out.push('{');
        self.level += 1;
        let mut entries = Object {
            w: self,
            empty: true,
        };
        body(&mut entries);
        let empty = entries.empty;
        self.level -= 1;
        if !empty {
            self.newline("\n");
        }
        self.out.push('}');
    }

    /// An array of `items`, each written by `item`; `[]` when empty.
    pub(crate) fn array<T>(&mut self, items: &[T], mut item: impl FnMut(&mut Self, &T)) {
        self.out.push('[');
        self.level += 1;
        for (i, v) in items.iter().enumerate() {
            self.newline(if i == 0 { "\n" } else { ",\n" });
            item(self, v);
        }
        self.level -= 1;
        if !items.is_empty() {
            self.newline("\n");
        }
        self.out.push(']');
    }

    /// A JSON string.
    pub(crate) fn string(&mut self, s: &str) {
        self.out.push('"');
        escaped(&mut self.out, s);
        self.out.push('"');
    }

    /// Any JSON value.
    pub(crate) fn value(&mut self, v: &Value) {
        match v {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            // serde_json writes numbers as their `Display` (itoa, ryu);
            // writing into a `String` cannot fail.
            Value::Number(n) => drop(write!(self.out, "{n}")),
            Value::String(s) => self.string(s),
            Value::Array(items) => self.array(items, Self::value),
            Value::Object(m) => self.object(|o| {
                for (k, v) in m {
                    o.value(k, v);
                }
            }),
        }
    }
}

impl Object<'_> {
    /// An entry whose value `value` writes.
    pub(crate) fn entry(&mut self, key: &str, value: impl FnOnce(&mut Writer)) {
        self.w.newline(if self.empty { "\n" } else { ",\n" });
        self.empty = false;
        self.w.string(key);
        self.w.out.push_str(": ");
        value(self.w);
    }

    /// An entry with a string value.
    pub(crate) fn string(&mut self, key: &str, s: &str) {
        self.entry(key, |w| w.string(s));
    }

    /// An entry with any value.
    pub(crate) fn value(&mut self, key: &str, v: &Value) {
        self.entry(key, |w| w.value(v));
    }
}

/// Appends `s` with JSON's escapes, as serde_json writes them: `\"`, `\\`,
/// the short forms of backspace, form feed, newline, carriage return and
/// tab, and `\u00xx` (lowercase) for the other control characters.
fn escaped(out: &mut String, s: &str) {
    let mut words = s.as_bytes().chunks_exact(8);
    let clean = words.all(|w| !needs_escape(word(w))) && !needs_escape(word(words.remainder()));
    if clean {
        // Most strings (keys, names, descriptions) need no escape at all.
        return out.push_str(s);
    }
    let mut from = 0;
    for (i, b) in s.bytes().enumerate() {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        // `b` is ASCII, so both slices end on character boundaries.
        out.push_str(&s[from..i]);
        if short.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(short);
        }
        from = i + 1;
    }
    out.push_str(&s[from..]);
}

/// Up to eight bytes as one little-endian word, the rest filled with a byte
/// that needs no escape. Built by shifts: a copy into an array became a
/// `memcpy` call per word.
fn word(bytes: &[u8]) -> u64 {
    if let Ok(eight) = <[u8; 8]>::try_from(bytes) {
        return u64::from_le_bytes(eight);
    }
    let mut w = u64::from_ne_bytes([b'a'; 8]);
    for (i, b) in bytes.iter().enumerate() {
        let shift = 8 * i;
        w = (w & !(0xff << shift)) | (u64::from(*b) << shift);
    }
    w
}

/// Whether any byte of `word` is a control character, `"` or `\`: the
/// classic "has a zero byte" and "has a byte below n" bit tricks, exact as a
/// yes/no answer (bytes from 0x80 up never count).
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH != 0;
    below_space
        || zero_byte(word ^ (ONES * u64::from(b'"')))
        || zero_byte(word ^ (ONES * u64::from(b'\\')))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::{Writer, needs_escape};

    fn pretty(v: &Value) -> String {
        let mut w = Writer::default();
        w.value(v);
        w.finish()
    }

    /// Any JSON value, nested up to `depth` levels; strings favour the
    /// characters JSON escapes.
    fn value(depth: u32) -> impl Strategy<Value = Value> {
        let text = "[a-z\"\\\\\u{0}-\u{1f}\u{7f}é€ ]{0,20}";
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            ".{0,12}".prop_map(Value::String),
            text.prop_map(Value::String),
        ];
        leaf.prop_recursive(depth, 64, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((text, inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn writes_what_serde_json_writes(v in value(8)) {
            prop_assert_eq!(pretty(&v), serde_json::to_string_pretty(&v).unwrap_or_default());
        }

        #[test]
        fn escape_test_agrees_with_each_byte(bytes in any::<[u8; 8]>()) {
            let want = bytes.iter().any(|b| *b < 0x20 || *b == b'"' || *b == b'\\');
            prop_assert_eq!(needs_escape(u64::from_le_bytes(bytes)), want);
        }
    }

    #[test]
    fn every_control_character_and_long_strings() {
        let mut all: String = (0u8..0x80).map(char::from).collect();
        all.push_str("é€\u{10ffff}");
        for s in [all.clone(), all.repeat(3), "x".repeat(17), "\"".repeat(9)] {
            let v = json!({ s.clone(): [s] });
            assert_eq!(
                pretty(&v),
                serde_json::to_string_pretty(&v).unwrap_or_default()
            );
        }
    }

    #[test]
    fn deeper_than_the_space_buffer() {
        let mut v = json!("leaf");
        for _ in 0..80 {
            v = json!({"k": [v, {}, []]});
        }
        assert_eq!(
            pretty(&v),
            serde_json::to_string_pretty(&v).unwrap_or_default()
        );
    }
}
