//! JSON values built by moving their parts in. `serde_json::json!` writes
//! every embedded expression into a fresh copy through `Serialize`; for a
//! form schema that copy cost more than mapping it (issue 18). Fixed
//! fragments stay `json!`; anything large goes through [`object`].

use serde_json::{Map, Value};

/// An object with `entries` in order, their values moved in.
pub(crate) fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<Map<_, _>>(),
    )
}

/// A fixed fragment: `json!` evaluated once per process, then copied at
/// each use. A copy allocates like `json!` but skips hashing every key
/// again (issue 18: the Template's fixed pages cost as much as its form).
macro_rules! fixed {
    ($($json:tt)+) => {{
        static FRAGMENT: std::sync::LazyLock<serde_json::Value> =
            std::sync::LazyLock::new(|| serde_json::json!($($json)+));
        FRAGMENT.clone()
    }};
}
pub(crate) use fixed;

/// `m`'s value for `key`, found by comparing keys: a schema node holds a
/// handful of keywords, and comparing them costs less than hashing `key`
/// (SipHash, in `serde_json::Map`), which was a tenth of a conversion
/// (issue 18). Large maps still hash.
pub(crate) fn field<'m>(m: &'m Map<String, Value>, key: &str) -> Option<&'m Value> {
    if m.len() > SCAN_UP_TO {
        return m.get(key);
    }
    m.iter().find_map(|(k, v)| (k == key).then_some(v))
}

/// Up to this many entries [`field`] compares instead of hashing.
const SCAN_UP_TO: usize = 16;

/// A schema's boolean keyword: `false` unless set to `true`.
pub(crate) fn flag(m: &Map<String, Value>, key: &str) -> bool {
    field(m, key).and_then(Value::as_bool) == Some(true)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{field, object};

    #[test]
    fn object_keeps_entry_order_like_json() {
        let built = object([("b", json!(1)), ("a", json!({"x": [1, 2]}))]);
        assert_eq!(built, json!({"b": 1, "a": {"x": [1, 2]}}));
        assert_eq!(built.to_string(), r#"{"b":1,"a":{"x":[1,2]}}"#);
    }

    #[test]
    fn fixed_is_json_each_time() {
        let make = || fixed!({"a": [1, {"b": "c"}], "d": null});
        let (first, second) = (make(), make());
        assert_eq!(first, json!({"a": [1, {"b": "c"}], "d": null}));
        assert_eq!(first, second);
    }

    #[test]
    fn field_finds_what_get_finds_in_small_and_large_maps() {
        for n in [0, 1, 2, 16, 17, 40] {
            let m: serde_json::Map<String, serde_json::Value> =
                (0..n).map(|i| (format!("k{i}"), json!(i))).collect();
            for key in ["k0", "k1", "k15", "k16", "k39", "absent"] {
                assert_eq!(field(&m, key), m.get(key), "{n} entries, `{key}`");
            }
        }
    }
}
