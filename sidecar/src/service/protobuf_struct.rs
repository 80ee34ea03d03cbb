//! Conversions between JSON values and `google.protobuf.Struct`, and the
//! `osp.v1` messages built from JSON.
use prost_types::{ListValue, Struct, Value as PbValue, value::Kind};
use serde_json::{Map, Number, Value};

use crate::pb;

/// JSON object to `Struct` (non-objects become an empty struct).
pub(crate) fn to_struct(v: &Value) -> Struct {
    match v {
        Value::Object(m) => Struct {
            fields: m.iter().map(|(k, v)| (k.clone(), to_value(v))).collect(),
        },
        _ => Struct::default(),
    }
}

/// JSON value to protobuf `Value`.
pub(crate) fn to_value(v: &Value) -> PbValue {
    let kind = match v {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(a) => Kind::ListValue(ListValue {
            values: a.iter().map(to_value).collect(),
        }),
        Value::Object(_) => Kind::StructValue(to_struct(v)),
    };
    PbValue { kind: Some(kind) }
}

/// `Struct` to a JSON object. Whole doubles that fit an `i64` become
/// integers, so `3.0` from a form arrives as `3`; the schema decides later
/// whether a number must be an integer.
pub fn from_struct(s: &Struct) -> Value {
    Value::Object(
        s.fields
            .iter()
            .map(|(k, v)| (k.clone(), from_value(v)))
            .collect::<Map<_, _>>(),
    )
}

/// Errors from reading caller-supplied `Struct` values.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// A number is NaN or infinite, which JSON (and so Kubernetes) cannot hold.
    #[error("number at `{path}` is `{value}`: only finite numbers are allowed")]
    NonFinite { path: String, value: f64 },
}

/// Like [`from_struct`], but refuses NaN and infinities instead of turning
/// them into `null`, naming the offending field path (`a.b[2]`).
pub(crate) fn try_from_struct(s: &Struct) -> Result<Value, Error> {
    check_struct(s, "")?;
    Ok(from_struct(s))
}

fn check_struct(s: &Struct, path: &str) -> Result<(), Error> {
    for (k, v) in &s.fields {
        let p = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        check_value(v, &p)?;
    }
    Ok(())
}

fn check_value(v: &PbValue, path: &str) -> Result<(), Error> {
    match &v.kind {
        Some(Kind::NumberValue(n)) if !n.is_finite() => Err(Error::NonFinite {
            path: path.to_string(),
            value: *n,
        }),
        Some(Kind::ListValue(l)) => l
            .values
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| check_value(v, &format!("{path}[{i}]"))),
        Some(Kind::StructValue(s)) => check_struct(s, path),
        _ => Ok(()),
    }
}

/// Protobuf `Value` to JSON. NaN and infinities have no JSON form: `None`.
pub(crate) fn from_value(v: &PbValue) -> Value {
    match &v.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(*b),
        Some(Kind::NumberValue(n)) => number(*n),
        Some(Kind::StringValue(s)) => Value::String(s.clone()),
        Some(Kind::ListValue(l)) => Value::Array(l.values.iter().map(from_value).collect()),
        Some(Kind::StructValue(s)) => from_struct(s),
    }
}

fn number(n: f64) -> Value {
    // 2^53: beyond it doubles skip integers, so keep them as doubles.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if n.fract() == 0.0 && n.abs() <= EXACT {
        Value::Number(Number::from(n as i64))
    } else {
        Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// A Backstage entity as the `osp.v1.Entity` message.
pub(crate) fn entity(v: &Value) -> pb::Entity {
    let json = v.to_string();
    pb::Entity {
        r#ref: osp::entity::ref_of(v),
        entity: Some(to_struct(v)),
        etag: format!("{:016x}", osp::entity::fnv1a(json.as_bytes())),
        json: String::new(),
    }
}

/// A manifest in all three forms.
pub(crate) fn manifest(v: &Value) -> pb::Manifest {
    pb::Manifest {
        yaml: osp::document::to_yaml(v),
        json: v.to_string(),
        object: Some(to_struct(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_and_restores_integers() {
        let v = json!({"a": 3, "b": [true, null, "x"], "c": {"d": 1.5}});
        assert_eq!(from_struct(&to_struct(&v)), v);
        let nan = PbValue {
            kind: Some(Kind::NumberValue(f64::NAN)),
        };
        assert_eq!(from_value(&nan), Value::Null, "NaN has no JSON form");
    }

    #[test]
    fn refuses_non_finite_numbers_with_their_path() {
        let v = json!({"a": {"b": [1, 2]}});
        let mut s = to_struct(&v);
        assert_eq!(try_from_struct(&s).expect("finite"), v);
        let Some(Kind::StructValue(a)) = &mut s.fields.get_mut("a").expect("a").kind else {
            panic!("a is a struct")
        };
        let Some(Kind::ListValue(b)) = &mut a.fields.get_mut("b").expect("b").kind else {
            panic!("b is a list")
        };
        b.values[1].kind = Some(Kind::NumberValue(f64::INFINITY));
        let err = try_from_struct(&s).expect_err("infinity is refused");
        assert_eq!(
            err.to_string(),
            "number at `a.b[1]` is `inf`: only finite numbers are allowed"
        );
    }
}
