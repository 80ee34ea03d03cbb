use serde_json::{Value, json};

use super::*;
use crate::definition::{Names, Scope, Source};

/// A v2 namespaced XRD whose `spec` schema is `spec`.
fn def(spec: Value) -> Definition {
    Definition {
        source: Source::XrdV2,
        name: "xdbs.example.org".into(),
        group: "example.org".into(),
        version: "v1".into(),
        versions: vec!["v1".into()],
        deprecated: false,
        names: Names {
            kind: "XDB".into(),
            plural: "xdbs".into(),
        },
        claim_names: None,
        scope: Scope::Namespaced,
        schema: json!({"type": "object", "properties": {"spec": spec}}),
        annotations: Default::default(),
        labels: Default::default(),
        default_composition: None,
        default_update_policy: None,
        connection_secret_keys: Vec::new(),
    }
}

fn check(spec_schema: Value, spec: Value) -> Vec<String> {
    let d = def(spec_schema);
    let m = json!({"apiVersion": "example.org/v1", "kind": "XDB",
                   "metadata": {"name": "a", "namespace": "b"}, "spec": spec});
    let (mut v, mut w) = (Vec::new(), Vec::new());
    manifest(&d, &m, crate::claim::CelLimits::default(), &mut v, &mut w);
    v.into_iter().map(|v| v.to_string()).collect()
}

fn obj(props: Value) -> Value {
    json!({"type": "object", "properties": props})
}

#[test]
fn every_rule_has_a_valid_and_an_invalid_case() {
    struct Case {
        reason: &'static str,
        schema: Value,
        valid: Value,
        invalid: Value,
        /// The violation the invalid value produces.
        want: &'static str,
    }
    let cases = [
        Case {
            reason: "type",
            schema: obj(json!({"size": {"type": "integer"}})),
            valid: json!({"size": 3}),
            invalid: json!({"size": "3"}),
            want: "spec.size: must be of type `integer`, got `string`",
        },
        Case {
            reason: "a double is not an integer",
            schema: obj(json!({"size": {"type": "integer"}})),
            valid: json!({"size": 3}),
            invalid: json!({"size": 3.5}),
            want: "spec.size: must be of type `integer`, got `number`",
        },
        Case {
            reason: "required at the first level",
            schema: json!({"type": "object", "required": ["region"],
                           "properties": {"region": {"type": "string"}}}),
            valid: json!({"region": "eu"}),
            invalid: json!({}),
            want: "spec.region: required value",
        },
        Case {
            reason: "a nested required field",
            schema: obj(
                json!({"parameters": {"type": "object", "required": ["storageGB"],
                "properties": {"storageGB": {"type": "integer"}, "tier": {"type": "string"}}}}),
            ),
            valid: json!({"parameters": {"storageGB": 20}}),
            invalid: json!({"parameters": {"tier": "gold"}}),
            want: "spec.parameters.storageGB: required value",
        },
        Case {
            reason: "enum",
            schema: obj(json!({"size": {"type": "string", "enum": ["small", "large"]}})),
            valid: json!({"size": "small"}),
            invalid: json!({"size": "huge"}),
            want: "spec.size: unsupported value `\"huge\"`, expected one of `\"small\"`, `\"large\"`",
        },
        Case {
            reason: "const",
            schema: obj(json!({"v": {"type": "string", "const": "x"}})),
            valid: json!({"v": "x"}),
            invalid: json!({"v": "y"}),
            want: "spec.v: must be `\"x\"`, got `\"y\"`",
        },
        Case {
            reason: "pattern",
            schema: obj(json!({"name": {"type": "string", "pattern": "^[a-z]+$"}})),
            valid: json!({"name": "abc"}),
            invalid: json!({"name": "ABC"}),
            want: "spec.name: `ABC` must match pattern `^[a-z]+$`",
        },
        Case {
            reason: "format",
            schema: obj(json!({"at": {"type": "string", "format": "date-time"}})),
            valid: json!({"at": "2025-01-01T00:00:00Z"}),
            invalid: json!({"at": "yesterday"}),
            want: "spec.at: `yesterday` is not a valid `date-time`",
        },
        Case {
            reason: "maxLength counts characters, not bytes",
            schema: obj(json!({"n": {"type": "string", "maxLength": 3}})),
            valid: json!({"n": "äöü"}),
            invalid: json!({"n": "abcd"}),
            want: "spec.n: must be no more than `3` characters, got `4`",
        },
        Case {
            reason: "minLength",
            schema: obj(json!({"n": {"type": "string", "minLength": 2}})),
            valid: json!({"n": "ab"}),
            invalid: json!({"n": "a"}),
            want: "spec.n: must be at least `2` characters, got `1`",
        },
        Case {
            reason: "maximum",
            schema: obj(json!({"n": {"type": "integer", "maximum": 10}})),
            valid: json!({"n": 10}),
            invalid: json!({"n": 11}),
            want: "spec.n: must be less than or equal to `10`, got `11`",
        },
        Case {
            reason: "exclusiveMinimum as an OpenAPI v3.0 boolean",
            schema: obj(json!({"n": {"type": "number", "minimum": 0, "exclusiveMinimum": true}})),
            valid: json!({"n": 0.5}),
            invalid: json!({"n": 0}),
            want: "spec.n: must be greater than `0`, got `0`",
        },
        Case {
            reason: "multipleOf",
            schema: obj(json!({"n": {"type": "integer", "multipleOf": 5}})),
            valid: json!({"n": 10}),
            invalid: json!({"n": 7}),
            want: "spec.n: must be a multiple of `5`, got `7`",
        },
        Case {
            reason: "items and maxItems",
            schema: obj(
                json!({"l": {"type": "array", "maxItems": 2, "items": {"type": "string"}}}),
            ),
            valid: json!({"l": ["a", "b"]}),
            invalid: json!({"l": ["a", "b", "c"]}),
            want: "spec.l: must have at most `2` items, got `3`",
        },
        Case {
            reason: "items are validated with their index",
            schema: obj(json!({"l": {"type": "array", "items": {"type": "string"}}})),
            valid: json!({"l": ["a"]}),
            invalid: json!({"l": ["a", 1]}),
            want: "spec.l[1]: must be of type `string`, got `integer`",
        },
        Case {
            reason: "minItems",
            schema: obj(
                json!({"l": {"type": "array", "minItems": 1, "items": {"type": "string"}}}),
            ),
            valid: json!({"l": ["a"]}),
            invalid: json!({"l": []}),
            want: "spec.l: must have at least `1` items, got `0`",
        },
        Case {
            reason: "uniqueItems",
            schema: obj(
                json!({"l": {"type": "array", "uniqueItems": true, "items": {"type": "string"}}}),
            ),
            valid: json!({"l": ["a", "b"]}),
            invalid: json!({"l": ["a", "a"]}),
            want: "spec.l[1]: duplicate value `\"a\"`",
        },
        Case {
            reason: "list-type map keys are unique",
            schema: obj(
                json!({"ports": {"type": "array", "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}}}}),
            ),
            valid: json!({"ports": [{"name": "a", "port": 1}, {"name": "b", "port": 1}]}),
            invalid: json!({"ports": [{"name": "a", "port": 1}, {"name": "a", "port": 2}]}),
            want: "spec.ports[1]: duplicate entries for key `[name=\"a\"]`",
        },
        Case {
            reason: "additionalProperties schema",
            schema: obj(
                json!({"tags": {"type": "object", "additionalProperties": {"type": "string"}}}),
            ),
            valid: json!({"tags": {"team": "a"}}),
            invalid: json!({"tags": {"team": 1}}),
            want: "spec.tags.team: must be of type `string`, got `integer`",
        },
        Case {
            reason: "nullable",
            schema: obj(
                json!({"n": {"type": "string", "nullable": true}, "m": {"type": "string"}}),
            ),
            valid: json!({"n": null}),
            invalid: json!({"m": null}),
            want: "spec.m: must not be null",
        },
        Case {
            reason: "unknown fields are rejected",
            schema: obj(json!({"size": {"type": "integer"}})),
            valid: json!({"size": 1}),
            invalid: json!({"size": 1, "sise": 2}),
            want: "spec.sise: unknown field `sise`",
        },
        Case {
            reason: "a preserved free-form object takes any field, but its siblings do not",
            schema: obj(
                json!({"extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                               "size": {"type": "integer"}}),
            ),
            valid: json!({"extra": {"anything": {"goes": [1]}}}),
            invalid: json!({"extra": {}, "other": 1}),
            want: "spec.other: unknown field `other`",
        },
        Case {
            reason: "int-or-string accepts both, nothing else",
            schema: obj(json!({"port": {"x-kubernetes-int-or-string": true}})),
            valid: json!({"port": "http"}),
            invalid: json!({"port": true}),
            want: "spec.port: must be of type `int-or-string`, got `boolean`",
        },
        Case {
            reason: "anyOf",
            schema: obj(json!({"port": {"x-kubernetes-int-or-string": true,
                "anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^[0-9]+%$"}]}})),
            valid: json!({"port": "50%"}),
            invalid: json!({"port": "half"}),
            want: "spec.port: must match at least one schema in `anyOf`",
        },
        Case {
            reason: "a CEL rule comparing two fields",
            schema: json!({"type": "object",
                "properties": {"min": {"type": "integer"}, "max": {"type": "integer"}},
                "x-kubernetes-validations": [{"rule": "self.min <= self.max", "message": "min must not exceed max"}]}),
            valid: json!({"min": 1, "max": 2}),
            invalid: json!({"min": 3, "max": 2}),
            want: "spec: min must not exceed max",
        },
        Case {
            reason: "a CEL rule with messageExpression and fieldPath",
            schema: json!({"type": "object",
                "properties": {"replicas": {"type": "integer"}},
                "x-kubernetes-validations": [{"rule": "self.replicas % 2 == 1",
                    "messageExpression": "'replicas must be odd, got ' + string(self.replicas)",
                    "fieldPath": ".replicas"}]}),
            valid: json!({"replicas": 3}),
            invalid: json!({"replicas": 4}),
            want: "spec.replicas: replicas must be odd, got 4",
        },
        Case {
            reason: "a CEL rule without message uses the rule",
            schema: obj(json!({"name": {"type": "string",
                "x-kubernetes-validations": [{"rule": "self.startsWith('db-')"}]}})),
            valid: json!({"name": "db-1"}),
            invalid: json!({"name": "x"}),
            want: "spec.name: failed rule: `self.startsWith('db-')`",
        },
        Case {
            reason: "a CEL rule over a number field compares doubles",
            schema: obj(json!({"ratio": {"type": "number",
                "x-kubernetes-validations": [{"rule": "self <= 1.0", "message": "at most one"}]}})),
            valid: json!({"ratio": 1}),
            invalid: json!({"ratio": 2}),
            want: "spec.ratio: at most one",
        },
        Case {
            reason: "a CEL rule that reads a missing field fails as on the server",
            schema: json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                "x-kubernetes-validations": [{"rule": "self.a == self.b", "message": "a must equal b"}]}),
            valid: json!({"a": "x", "b": "x"}),
            invalid: json!({"a": "x"}),
            want: "spec: no such key: b evaluating rule `self.a == self.b`",
        },
    ];
    for c in cases {
        let ok = check(c.schema.clone(), c.valid.clone());
        assert!(ok.is_empty(), "{} (valid case): {ok:?}", c.reason);
        let bad = check(c.schema.clone(), c.invalid.clone());
        assert!(
            bad.iter().any(|v| v == c.want),
            "{} (invalid case): want `{}`, got {bad:?}",
            c.reason,
            c.want
        );
    }
}

#[test]
fn transition_rules_are_skipped_on_create() {
    let schema = obj(json!({"name": {"type": "string",
        "x-kubernetes-validations": [
            {"rule": "self == oldSelf", "message": "immutable"},
            {"rule": "!has(oldSelf) || self == oldSelf", "optionalOldSelf": true, "message": "immutable"}]}}));
    assert_eq!(check(schema, json!({"name": "x"})), Vec::<String>::new());
}

#[test]
fn reports_every_violation_at_once() {
    let schema = json!({"type": "object", "required": ["region"], "properties": {
        "region": {"type": "string"},
        "size": {"type": "integer", "maximum": 10},
        "tier": {"type": "string", "enum": ["a"]}}});
    let got = check(schema, json!({"size": 11, "tier": "b", "bogus": true}));
    assert_eq!(got.len(), 4, "{got:?}");
}

#[test]
fn expensive_rules_are_refused() {
    let schema = obj(json!({"l": {"type": "array", "items": {"type": "integer"},
        "x-kubernetes-validations": [{"rule": "self.all(x, self.all(y, self.all(z, x + y + z >= 0)))"}]}}));
    let big: Vec<i64> = (0..2000).collect();
    let got = check(schema, json!({"l": big}));
    assert!(got.iter().any(|v| v.contains("too expensive")), "{got:?}");
}
