//! Conversions between JSON values and `google.protobuf.Struct`, and the
//! `osp.v1` messages built from JSON.
use prost_types::{ListValue, Struct, Value as PbValue, value::Kind};
use serde_json::{Map, Number, Value};

use crate::pb;

/// JSON object to `Struct` (non-objects become an empty struct).
pub fn to_struct(v: &Value) -> Struct {
    match v {
        Value::Object(m) => Struct {
            fields: m.iter().map(|(k, v)| (k.clone(), to_value(v))).collect(),
        },
        _ => Struct::default(),
    }
}

/// JSON value to protobuf `Value`.
pub fn to_value(v: &Value) -> PbValue {
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

/// Protobuf `Value` to JSON. NaN and infinities have no JSON form: `None`.
pub fn from_value(v: &PbValue) -> Value {
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
pub fn entity(v: &Value) -> pb::Entity {
    let json = v.to_string();
    pb::Entity {
        r#ref: osp::entity::ref_of(v),
        entity: Some(to_struct(v)),
        etag: format!("{:016x}", osp::entity::fnv1a(json.as_bytes())),
    }
}

/// A manifest in all three forms.
pub fn manifest(v: &Value) -> pb::Manifest {
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
}
