//! The hostile requests: adversarial tables and random strategies.
use osp_sidecar::pb;
use proptest::prelude::*;
use prost_types::{ListValue, Struct, Value, value::Kind};

use super::super::{Want, inline, render_request};

/// A claim-bearing XRD with a CEL rule, as a typical caller sends it.
pub const XRD: &str = r#"
apiVersion: apiextensions.crossplane.io/v1
kind: CompositeResourceDefinition
metadata: {name: xdbs.example.org}
spec:
  group: example.org
  names: {kind: XDB, plural: xdbs}
  claimNames: {kind: DB, plural: dbs}
  versions:
  - name: v1
    served: true
    referenceable: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              parameters:
                type: object
                required: [storageGB]
                properties:
                  storageGB: {type: integer, maximum: 100}
                  tags: {type: array, items: {type: string}}
                x-kubernetes-validations:
                - rule: "!has(self.tags) || self.tags.all(t, size(t) < 64)"
"#;

/// [`XRD`] with `parameters` given extra properties and rules.
fn xrd_with(properties: &str, rule: &str) -> String {
    XRD.replace(
        "                  tags: {type: array, items: {type: string}}\n",
        &format!("                  tags: {{type: array, items: {{type: string}}}}\n{properties}"),
    )
    .replace("self.tags.all(t, size(t) < 64)", rule)
}

/// Nine levels of ten aliases each: 10^9 nodes if expanded.
pub fn billion_laughs() -> String {
    let mut s = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = format!("*a{}", i - 1);
        let refs = [p.as_str(); 10].join(", ");
        s.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    s
}

pub struct ConvertCase {
    pub reason: &'static str,
    pub yaml: String,
    pub want: Want,
}

pub fn convert_cases() -> Vec<ConvertCase> {
    let schema_ref_loop = XRD.replace(
        "        type: object\n        properties:\n          spec:",
        "        type: object\n        $ref: \"#\"\n        definitions: {a: {$ref: \"#/definitions/a\"}}\n        properties:\n          loop: {$ref: \"#/definitions/a\"}\n          spec:",
    );
    let deep_schema = {
        let mut s = String::from("{type: object}");
        for _ in 0..200 {
            s = format!("{{type: object, properties: {{a: {s}}}}}");
        }
        XRD.replace("{type: integer, maximum: 100}", &s)
    };
    let wide_schema = {
        let props: Vec<String> = (0..300_000).map(|i| format!("p{i}: {{}}")).collect();
        XRD.replace(
            "{type: integer, maximum: 100}",
            &format!("{{type: object, properties: {{{}}}}}", props.join(", ")),
        )
    };
    vec![
        ConvertCase {
            reason: "10k nested flow sequences",
            yaml: "[".repeat(10_000),
            want: Want::Rejected,
        },
        ConvertCase {
            reason: "10k nested flow sequences, closed",
            yaml: format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000)),
            want: Want::Rejected,
        },
        ConvertCase {
            reason: "5k nested block mappings",
            yaml: (0..5_000)
                .map(|i| format!("{}a:\n", " ".repeat(i)))
                .collect(),
            want: Want::Rejected,
        },
        ConvertCase {
            reason: "billion laughs",
            yaml: billion_laughs(),
            want: Want::Rejected,
        },
        ConvertCase {
            reason: "duplicate keys",
            yaml: XRD.replace(
                "  group: example.org\n",
                "  group: example.org\n  group: evil.org\n",
            ),
            want: Want::Rejected,
        },
        ConvertCase {
            reason: "a string near the message size limit",
            yaml: format!("a: \"{}\"\n", "x".repeat(15 << 20)),
            want: Want::Rejected,
        },
        ConvertCase {
            reason: "a message over the message size limit",
            yaml: "x".repeat(17 << 20),
            want: Want::TooLarge,
        },
        ConvertCase {
            reason: "a schema with $ref loops (not allowed in CRD schemas)",
            yaml: schema_ref_loop,
            want: Want::Any,
        },
        ConvertCase {
            reason: "a schema nested 200 levels",
            yaml: deep_schema,
            want: Want::Rejected,
        },
        ConvertCase {
            reason: "a schema with 300k properties",
            yaml: wide_schema,
            want: Want::Rejected,
        },
        ConvertCase {
            reason: "NaN and infinities as schema numbers",
            yaml: XRD.replace("maximum: 100", "maximum: .nan, minimum: -.inf"),
            want: Want::Any,
        },
        ConvertCase {
            reason: "a name with path separators (entity names are sanitised)",
            yaml: XRD.replace("xdbs.example.org", "../../etc/passwd"),
            want: Want::Any,
        },
        ConvertCase {
            reason: "a kind with path separators and NUL (entity names are sanitised)",
            yaml: XRD.replace("kind: XDB", "kind: \"X/../\\0DB\""),
            want: Want::Any,
        },
        ConvertCase {
            reason: "a definition that is a scalar",
            yaml: "42".into(),
            want: Want::Rejected,
        },
    ]
}

pub struct RenderCase {
    pub reason: &'static str,
    pub request: pb::RenderClaimRequest,
    pub want: Want,
    /// A field violation the rejection must name.
    pub field: Option<&'static str>,
}

fn number(n: f64) -> Value {
    Value {
        kind: Some(Kind::NumberValue(n)),
    }
}

fn parameters(fields: Vec<(&str, Value)>) -> Struct {
    let inner = Struct {
        fields: fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    };
    Struct {
        fields: [(
            "parameters".to_string(),
            Value {
                kind: Some(Kind::StructValue(inner)),
            },
        )]
        .into(),
    }
}

fn strings(n: usize) -> String {
    let items: Vec<String> = (0..n).map(|i| format!("\"t{i}\"")).collect();
    format!(
        r#"{{"parameters": {{"storageGB": 1, "tags": [{}]}}}}"#,
        items.join(",")
    )
}

pub fn render_cases() -> Vec<RenderCase> {
    let with_values = |reason, values: Struct, field| {
        let mut request = render_request(XRD, "");
        request.values = Some(values);
        RenderCase {
            reason,
            request,
            want: Want::Rejected,
            field,
        }
    };
    let with_rule = |reason, rule: &str, values: String, want| RenderCase {
        reason,
        request: render_request(&xrd_with("", rule), values),
        want,
        field: None,
    };
    let mut cases = vec![
        with_values(
            "NaN in values",
            parameters(vec![("storageGB", number(f64::NAN))]),
            Some("values.parameters.storageGB"),
        ),
        with_values(
            "infinity in a list in values",
            parameters(vec![(
                "tags",
                Value {
                    kind: Some(Kind::ListValue(ListValue {
                        values: vec![number(1.0), number(f64::NEG_INFINITY)],
                    })),
                },
            )]),
            Some("values.parameters.tags[1]"),
        ),
        RenderCase {
            reason: "values_json nested 10k deep",
            request: render_request(XRD, "[".repeat(10_000)),
            want: Want::Rejected,
            field: Some("values_json"),
        },
        RenderCase {
            reason: "values_json with NaN",
            request: render_request(XRD, r#"{"parameters": {"storageGB": NaN}}"#),
            want: Want::Rejected,
            field: Some("values_json"),
        },
        RenderCase {
            reason: "values_json with a 10 MiB string",
            request: render_request(
                XRD,
                format!(
                    r#"{{"parameters": {{"storageGB": 1, "tags": ["{}"]}}}}"#,
                    "x".repeat(10 << 20)
                ),
            ),
            want: Want::Rejected,
            field: None,
        },
        RenderCase {
            reason: "values_json with duplicate keys (JSON allows them, last wins)",
            request: render_request(XRD, r#"{"parameters": {"storageGB": 1, "storageGB": 2}}"#),
            want: Want::Any,
            field: None,
        },
        with_rule(
            "nested comprehensions over a long list",
            "self.tags.all(a, self.tags.all(b, self.tags.all(c, size(a) + size(b) + size(c) >= 0)))",
            strings(2_000),
            Want::Rejected,
        ),
        with_rule(
            "a rule that does not compile",
            "self.tags.all(",
            strings(1),
            Want::Any,
        ),
        with_rule(
            "a pathological regular expression",
            "!has(self.tags) || self.tags.all(t, t.matches('^(a+)+$'))",
            format!(
                r#"{{"parameters": {{"storageGB": 1, "tags": ["{}b"]}}}}"#,
                "a".repeat(5_000)
            ),
            Want::Any,
        ),
    ];
    for (reason, name, namespace) in [
        ("a name with path separators", "../../etc/passwd", "team-a"),
        ("a namespace with path separators", "orders", "../.."),
        ("a name with NUL", "ord\0ers", "team-a"),
        ("a 1 MiB name", &*"a".repeat(1 << 20), "team-a"),
    ] {
        let mut request = render_request(XRD, r#"{"parameters": {"storageGB": 1}}"#);
        request.name = name.to_string();
        request.namespace = namespace.to_string();
        cases.push(RenderCase {
            reason,
            request,
            want: Want::Rejected,
            field: None,
        });
    }
    let mut request = render_request(XRD, r#"{"parameters": {"storageGB": 1}}"#);
    request.cluster = "../../../tmp".into();
    cases.push(RenderCase {
        reason: "a cluster with path separators",
        request,
        want: Want::Refused,
        field: None,
    });
    let mut request = render_request("", "");
    request.definition = inline(billion_laughs());
    cases.push(RenderCase {
        reason: "an inline definition that is an alias bomb",
        request,
        want: Want::Rejected,
        field: None,
    });
    cases
}

/// A rule with four nested comprehensions over 100-element literal lists:
/// 10^8 iterations the cost estimate (which only sees list lengths in the
/// data) does not catch.
pub fn cel_literal_blowup() -> pb::RenderClaimRequest {
    let hundred: Vec<String> = (0..100).map(|i| i.to_string()).collect();
    let l = format!("[{}]", hundred.join(","));
    let rule = format!("{l}.all(a, {l}.all(b, {l}.all(c, {l}.all(d, a + b + c + d >= 0))))");
    render_request(&xrd_with("", &rule), strings(1))
}

pub struct PublishCase {
    pub reason: &'static str,
    pub request: pb::CreatePullRequestRequest,
}

pub fn publish_cases() -> Vec<PublishCase> {
    let file = |path: &str| pb::FileChange {
        path: path.into(),
        content: "a: 1\n".into(),
        delete: false,
    };
    let huge = "a/".repeat(1 << 19);
    let mut cases: Vec<PublishCase> = [
        ("parent directory", "../outside.yaml"),
        ("parent directory in the middle", "a/../../b.yaml"),
        ("absolute path", "/etc/passwd"),
        ("NUL in a path", "a/\0.yaml"),
        ("a .git path", ".git/config"),
        ("empty path", ""),
        ("a 1 MiB path", huge.as_str()),
    ]
    .into_iter()
    .map(|(reason, path)| PublishCase {
        reason,
        request: pb::CreatePullRequestRequest {
            repository: "demo".into(),
            files: vec![file(path)],
            ..Default::default()
        },
    })
    .collect();
    cases.push(PublishCase {
        reason: "no repository",
        request: pb::CreatePullRequestRequest {
            files: vec![file("a.yaml")],
            ..Default::default()
        },
    });
    cases
}

/// YAML-ish text: random printable soup, structural characters, and
/// fragments of real definitions.
pub fn yamlish() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,200}",
        "[\\[\\]{}:,&*!|>'\"#\\- \n]{0,300}",
        (0..XRD.len(), 0..XRD.len()).prop_map(|(a, b)| {
            let (a, b) = (a.min(b), a.max(b));
            let mut s = XRD.to_string();
            s.replace_range(floor(&s, a)..floor(&s, b), "");
            s
        }),
        (1usize..2_000).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n / 2))),
    ]
}

fn floor(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Random `Struct` values, NaN and infinities included.
pub fn values() -> impl Strategy<Value = Struct> {
    let leaf = prop_oneof![
        any::<f64>().prop_map(number),
        Just(number(f64::NAN)),
        ".{0,20}".prop_map(|s| Value {
            kind: Some(Kind::StringValue(s)),
        }),
        any::<bool>().prop_map(|b| Value {
            kind: Some(Kind::BoolValue(b)),
        }),
        Just(Value { kind: None }),
    ];
    let value = leaf.prop_recursive(8, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(|values| Value {
                kind: Some(Kind::ListValue(ListValue { values })),
            }),
            prop::collection::btree_map("[a-zA-Z]{1,10}", inner, 0..8).prop_map(|fields| {
                Value {
                    kind: Some(Kind::StructValue(Struct { fields })),
                }
            }),
        ]
    });
    prop::collection::btree_map(
        prop_oneof![Just("parameters".to_string()), "[a-z]{1,8}"],
        value,
        0..4,
    )
    .prop_map(|fields| Struct { fields })
}
