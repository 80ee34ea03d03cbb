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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::object;

    #[test]
    fn object_keeps_entry_order_like_json() {
        let built = object([("b", json!(1)), ("a", json!({"x": [1, 2]}))]);
        assert_eq!(built, json!({"b": 1, "a": {"x": [1, 2]}}));
        assert_eq!(built.to_string(), r#"{"b":1,"a":{"x":[1,2]}}"#);
    }
}
