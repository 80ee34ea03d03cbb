//! Numbers arrive as JSON doubles from forms and protobuf `Struct`s; where
//! the schema says `integer` (or `int-or-string`) an integral double becomes
//! an integer, exactly as the user meant it.
use serde_json::{Number, Value};

use super::{Violation, Warning, schema};

/// Largest integer a double holds exactly (2^53).
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

/// Coerces `value` in place when `node` wants an integer.
pub fn integer(
    node: &Value,
    value: &mut Value,
    path: &str,
    warnings: &mut Vec<Warning>,
    violations: &mut Vec<Violation>,
) {
    let wants_int = schema::ty(node) == Some("integer") || schema::int_or_string(node);
    let Some(f) = value.as_f64().filter(|_| wants_int && value.is_f64()) else {
        return;
    };
    if f.fract() != 0.0 || !f.is_finite() {
        // Not integral: validation reports the type mismatch.
        return;
    }
    if f.abs() > MAX_EXACT {
        violations.push(Violation {
            field: path.to_string(),
            description: format!(
                "integer `{f}` is above 2^53 and was sent as a double, so it is not exact; send it as JSON text"
            ),
        });
        return;
    }
    // Exact: |f| <= 2^53 fits in i64 without loss.
    #[allow(clippy::cast_possible_truncation)]
    let i = f as i64;
    *value = Value::Number(Number::from(i));
    warnings.push(Warning {
        path: path.to_string(),
        message: format!("number `{f:?}` coerced to integer `{i}`"),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn coerces_integral_doubles_only() {
        struct Case {
            reason: &'static str,
            schema: Value,
            value: Value,
            want: Value,
            warned: bool,
            violated: bool,
        }
        let cases = [
            Case {
                reason: "an integer field sent as 3.0 becomes 3",
                schema: json!({"type": "integer"}),
                value: json!(3.0),
                want: json!(3),
                warned: true,
                violated: false,
            },
            Case {
                reason: "a fractional value is left for validation to reject",
                schema: json!({"type": "integer"}),
                value: json!(3.5),
                want: json!(3.5),
                warned: false,
                violated: false,
            },
            Case {
                reason: "a number field keeps its double",
                schema: json!({"type": "number"}),
                value: json!(3.0),
                want: json!(3.0),
                warned: false,
                violated: false,
            },
            Case {
                reason: "int-or-string keeps the user's string",
                schema: json!({"x-kubernetes-int-or-string": true}),
                value: json!("3"),
                want: json!("3"),
                warned: false,
                violated: false,
            },
            Case {
                reason: "int-or-string turns an integral double into an integer",
                schema: json!({"x-kubernetes-int-or-string": true}),
                value: json!(8080.0),
                want: json!(8080),
                warned: true,
                violated: false,
            },
            Case {
                reason: "an integer that was already exact is untouched",
                schema: json!({"type": "integer"}),
                value: json!(9_007_199_254_740_993_i64),
                want: json!(9_007_199_254_740_993_i64),
                warned: false,
                violated: false,
            },
            Case {
                reason: "a double above 2^53 cannot be trusted",
                schema: json!({"type": "integer"}),
                value: json!(1e17),
                want: json!(1e17),
                warned: false,
                violated: true,
            },
        ];
        for c in cases {
            let (mut w, mut v) = (Vec::new(), Vec::new());
            let mut value = c.value.clone();
            integer(&c.schema, &mut value, "spec.x", &mut w, &mut v);
            assert_eq!(value, c.want, "{}", c.reason);
            assert_eq!(!w.is_empty(), c.warned, "{}", c.reason);
            assert_eq!(!v.is_empty(), c.violated, "{}", c.reason);
        }
    }
}
