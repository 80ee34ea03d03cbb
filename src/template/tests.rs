//! Snapshots of generated Templates for a representative set of
//! definitions, table-driven mapping tests and property tests.
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::convert::for_entities_with;
use crate::document::{Limits, from_yaml};

fn doc(yaml: &str) -> Value {
    from_yaml(yaml, Limits::default()).expect("fixture is valid yaml")
}

fn template(yaml: &str) -> Value {
    for_entities_with(&doc(yaml), &Options::default())
        .expect("template")
        .template
}

/// The service page's `spec` schema.
fn spec_page(t: &Value) -> Value {
    t["spec"]["parameters"][1]["properties"]["spec"].clone()
}

fn xrd(api: &str, extra: &str, spec_schema: &str) -> String {
    let indented: String = spec_schema
        .lines()
        .map(|l| format!("                {l}\n"))
        .collect();
    format!(
        "apiVersion: apiextensions.crossplane.io/{api}
kind: CompositeResourceDefinition
metadata:
  name: xdatabases.example.org
spec:
  group: example.org
  names: {{kind: XDatabase, plural: xdatabases}}
{extra}  versions:
    - name: v1alpha1
      served: true
      referenceable: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
{indented}"
    )
}

const SIMPLE: &str = "type: object
required: [storageGB]
properties:
  storageGB: {type: integer, minimum: 1, default: 20}
  compositionRef: {type: object}
  crossplane: {type: object, description: a user field named crossplane}";

#[test]
fn v1_claim() {
    let y = xrd(
        "v1",
        "  claimNames: {kind: Database, plural: databases}\n  defaultCompositionRef: {name: aws}\n",
        SIMPLE,
    );
    insta::assert_yaml_snapshot!(template(&y));
}

#[test]
fn v2_namespaced() {
    let y = xrd("v2", "  scope: Namespaced\n", SIMPLE);
    insta::assert_yaml_snapshot!(template(&y)["spec"]);
}

#[test]
fn v2_cluster() {
    let y = xrd("v2", "  scope: Cluster\n", SIMPLE);
    let t = template(&y);
    assert!(
        t["spec"]["parameters"][0]["properties"]
            .get("namespace")
            .is_none(),
        "a cluster-scoped XR has no namespace"
    );
    insta::assert_yaml_snapshot!(t["spec"]);
}

#[test]
fn deep_nesting() {
    let y = xrd(
        "v2",
        "",
        "type: object
properties:
  network:
    type: object
    required: [vpc]
    properties:
      vpc:
        type: object
        required: [cidr]
        properties:
          cidr: {type: string, pattern: '^\\d+\\.\\d+\\.\\d+\\.\\d+/\\d+$', default: 10.0.0.0/16}
          subnets:
            type: object
            properties:
              private: {type: boolean, default: false}
              zone: {type: string, format: hostname, description: Availability zone}",
    );
    insta::assert_yaml_snapshot!(spec_page(&template(&y)));
}

#[test]
fn arrays_of_objects() {
    let y = xrd(
        "v2",
        "",
        "type: object
properties:
  rules:
    type: array
    minItems: 1
    maxItems: 10
    items:
      type: object
      required: [port]
      properties:
        port: {type: integer, minimum: 1, maximum: 65535, exclusiveMaximum: false}
        protocol: {type: string, enum: [TCP, UDP], default: TCP}
        cidrs: {type: array, x-kubernetes-list-type: set, items: {type: string}}",
    );
    insta::assert_yaml_snapshot!(spec_page(&template(&y)));
}

#[test]
fn maps() {
    let y = xrd(
        "v2",
        "",
        "type: object
properties:
  labels:
    type: object
    additionalProperties: {type: string, maxLength: 63}
  limits:
    type: object
    additionalProperties:
      type: object
      properties:
        cpu: {type: string}",
    );
    insta::assert_yaml_snapshot!(spec_page(&template(&y)));
}

#[test]
fn preserve_unknown() {
    let y = xrd(
        "v2",
        "",
        "type: object
properties:
  values:
    type: object
    description: Helm values
    x-kubernetes-preserve-unknown-fields: true
  anything:
    x-kubernetes-preserve-unknown-fields: true
  known:
    type: object
    x-kubernetes-preserve-unknown-fields: true
    properties:
      name: {type: string}",
    );
    insta::assert_yaml_snapshot!(spec_page(&template(&y)));
}

#[test]
fn int_or_string() {
    let y = xrd(
        "v2",
        "",
        "type: object
properties:
  port:
    x-kubernetes-int-or-string: true
    anyOf: [{type: integer}, {type: string}]
    default: 8080
  maxUnavailable:
    x-kubernetes-int-or-string: true
    nullable: true
    pattern: '^\\d+%$'",
    );
    insta::assert_yaml_snapshot!(spec_page(&template(&y)));
}

#[test]
fn enums_with_falsy_defaults() {
    let y = xrd(
        "v2",
        "",
        "type: object
properties:
  replicas: {type: integer, enum: [0, 1, 3], default: 0}
  public: {type: boolean, default: false}
  suffix: {type: string, enum: ['', '-a'], default: ''}
  ratio: {type: number, default: 0.0, minimum: -1, exclusiveMinimum: true}
  tier: {type: string, nullable: true, enum: [gold, silver], default: null}
  fixed: {type: string, const: v1}
  checked:
    type: string
    x-kubernetes-validations:
      - {rule: self.startsWith('a'), message: must start with a}
      - {rule: size(self) < 10}",
    );
    insta::assert_yaml_snapshot!(spec_page(&template(&y)));
}

#[test]
fn rgd_with_custom_types() {
    let y = r#"apiVersion: kro.run/v1alpha1
kind: ResourceGraphDefinition
metadata: {name: complexapp}
spec:
  schema:
    apiVersion: v1alpha1
    kind: ComplexApp
    types:
      Port: integer | default=8080 minimum=1 maximum=65535
      Endpoint:
        url: string | required=true pattern="^https?://"
        port: Port
    spec:
      name: string | required=true
      env: string | default="dev" enum="dev,prod"
      endpoints: "[]Endpoint | minItems=1"
      labels: map[string]string
      replicas: integer | default=0 validation="self <= 10"
"#;
    insta::assert_yaml_snapshot!(template(y));
}

#[test]
fn promise() {
    let y = "apiVersion: platform.kratix.io/v1alpha1
kind: Promise
metadata: {name: postgresql, annotations: {osp.dev/owner: group:default/dba}}
spec:
  api:
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    spec:
      group: marketplace.kratix.io
      names: {kind: PostgreSQL, plural: postgresqls}
      scope: Namespaced
      versions:
        - name: v1alpha1
          served: true
          storage: true
          schema:
            openAPIV3Schema:
              type: object
              properties:
                spec:
                  type: object
                  properties:
                    env: {type: string, default: dev}
                    teamId: {type: string, default: acid}
";
    insta::assert_yaml_snapshot!(template(y));
}

#[test]
fn pages_advanced_and_direct_apply() {
    let y = xrd(
        "v1",
        "  claimNames: {kind: Database, plural: databases}\n",
        "type: object
properties:
  parameters:
    type: object
    required: [size]
    properties:
      size: {type: string, x-ui-order: 2}
      engine: {type: string, x-ui-order: 1}
      region: {type: string, x-ui-advanced: true, default: eu-west-1}
      debug: {type: boolean, x-ui-hidden: true, default: false}
      vpc-id: {type: string}
  network:
    type: object
    properties:
      cidr: {type: string}",
    )
    .replace(
        "  name: xdatabases.example.org\n",
        "  name: xdatabases.example.org\n  annotations:\n    osp.dev/pages: '{Network: [network, parameters.vpc-id]}'\n    osp.dev/ui: '{spec.network.cidr: {ui:placeholder: 10.0.0.0/16}}'\n",
    );
    let opts = Options {
        compositions: vec!["aws".into(), "gcp".into()],
        direct_apply: true,
        ..Options::default()
    };
    let g = for_entities_with(&doc(&y), &opts).expect("template");
    insta::assert_yaml_snapshot!(g.template["spec"]);
}

#[test]
fn conversion_errors() {
    struct Case {
        reason: &'static str,
        schema: &'static str,
    }
    let cases = [
        Case {
            reason: "an unknown type names the schema path",
            schema: "type: object\nproperties:\n  size: {type: strin}",
        },
        Case {
            reason: "properties must be a mapping",
            schema: "type: object\nproperties:\n  nested: {type: object, properties: [a]}",
        },
    ];
    let errors: Vec<String> = cases
        .iter()
        .map(|c| {
            let e = for_entities_with(&doc(&xrd("v2", "", c.schema)), &Options::default())
                .expect_err(c.reason);
            format!("{}: {e}", c.reason)
        })
        .collect();
    insta::assert_yaml_snapshot!(errors);
}

#[test]
fn reserved_fields_depend_on_the_kind() {
    struct Case {
        reason: &'static str,
        api: &'static str,
        extra: &'static str,
        kept: &'static [&'static str],
        removed: &'static [&'static str],
    }
    let schema = "type: object
properties:
  compositionRef: {type: object}
  writeConnectionSecretToRef: {type: object}
  compositeDeletePolicy: {type: string}
  crossplane: {type: object}
  size: {type: string}";
    let cases = [
        Case {
            reason: "a claim loses Crossplane's claim machinery but keeps a user field `crossplane`",
            api: "v1",
            extra: "  claimNames: {kind: Database, plural: databases}\n",
            kept: &["crossplane", "size"],
            removed: &[
                "compositionRef",
                "writeConnectionSecretToRef",
                "compositeDeletePolicy",
            ],
        },
        Case {
            reason: "a legacy XR keeps `compositeDeletePolicy` (claims only) and `crossplane`",
            api: "v1",
            extra: "",
            kept: &["compositeDeletePolicy", "crossplane", "size"],
            removed: &["compositionRef", "writeConnectionSecretToRef"],
        },
        Case {
            reason: "a v2 XR loses only `crossplane`",
            api: "v2",
            extra: "",
            kept: &[
                "compositionRef",
                "writeConnectionSecretToRef",
                "compositeDeletePolicy",
                "size",
            ],
            removed: &["crossplane"],
        },
    ];
    for c in cases {
        let props = spec_page(&template(&xrd(c.api, c.extra, schema)))["properties"].clone();
        for k in c.kept {
            assert!(props.get(*k).is_some(), "{}: `{k}` kept", c.reason);
        }
        for k in c.removed {
            assert!(props.get(*k).is_none(), "{}: `{k}` removed", c.reason);
        }
    }
}

#[test]
fn titles_and_patterns() {
    for (name, want) in [
        ("storageGB", "Storage GB"),
        ("instance_type", "Instance Type"),
        ("vpcCIDRBlock", "Vpc CIDR Block"),
        ("name", "Name"),
        ("x", "X"),
    ] {
        assert_eq!(title_of(name), want, "title of `{name}`");
    }
    struct Case {
        reason: &'static str,
        pattern: &'static str,
        want: Option<&'static str>,
    }
    let cases = [
        Case {
            reason: "plain patterns are kept",
            pattern: "^[a-z0-9-]+$",
            want: Some("^[a-z0-9-]+$"),
        },
        Case {
            reason: "identity escapes outside classes lose the backslash",
            pattern: "^a\\-b\\_c$",
            want: Some("^a-b_c$"),
        },
        Case {
            reason: "escaped dash inside a class stays",
            pattern: "^[a-z\\-]+$",
            want: Some("^[a-z\\-]+$"),
        },
        Case {
            reason: "inline flags are not JavaScript",
            pattern: "(?i)^abc$",
            want: None,
        },
        Case {
            reason: "lookaheads are JavaScript",
            pattern: "^(?!-)[a-z]+$",
            want: Some("^(?!-)[a-z]+$"),
        },
        Case {
            reason: "\\z is not JavaScript",
            pattern: "^abc\\z",
            want: None,
        },
    ];
    for c in cases {
        assert_eq!(js_pattern(c.pattern).as_deref(), c.want, "{}", c.reason);
    }
}

/// A structural schema and an instance of its defaults.
fn arb_schema() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        (any::<bool>(), proptest::option::of(any::<bool>()))
            .prop_map(|(_, d)| with_default(json!({"type": "boolean"}), d.map(Value::from))),
        (-5i64..5, 0i64..10, any::<bool>()).prop_map(|(min, span, def)| {
            let s = json!({"type": "integer", "minimum": min, "maximum": min + span});
            with_default(s, def.then(|| json!(min)))
        }),
        (proptest::collection::vec("[a-z]{0,3}", 1..4), any::<bool>()).prop_map(|(e, def)| {
            let d = def.then(|| json!(e[0]));
            with_default(json!({"type": "string", "enum": e}), d)
        }),
        ("[a-z]{0,5}", 0u64..3, any::<bool>()).prop_map(|(d, min, def)| {
            let d = format!("{d}{}", "x".repeat(min as usize));
            with_default(
                json!({"type": "string", "minLength": min, "pattern": "^[a-z]*$"}),
                def.then(|| json!(d)),
            )
        }),
        Just(json!({"x-kubernetes-int-or-string": true, "default": 0})),
        Just(json!({"type": "string", "nullable": true, "default": null})),
        Just(
            json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true, "default": {"a": 1}})
        ),
        Just(json!({"type": "number", "minimum": 0, "exclusiveMinimum": true, "default": 0.5})),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            proptest::collection::btree_map("[a-zA-Z_-]{1,8}", inner.clone(), 1..4).prop_flat_map(
                |props| {
                    let names: Vec<String> = props.keys().cloned().collect();
                    let n = names.len();
                    (Just(props), proptest::collection::vec(any::<bool>(), n)).prop_map(
                        move |(props, req)| {
                            let required: Vec<&String> = names
                                .iter()
                                .zip(req)
                                .filter(|(_, r)| *r)
                                .map(|(n, _)| n)
                                .collect();
                            json!({"type": "object", "properties": props, "required": required})
                        },
                    )
                }
            ),
            inner
                .clone()
                .prop_map(|i| json!({"type": "array", "items": i, "maxItems": 5})),
            inner.prop_map(|i| json!({"type": "object", "additionalProperties": i})),
        ]
    })
}

fn with_default(mut s: Value, d: Option<Value>) -> Value {
    if let Some(d) = d {
        s["default"] = d;
    }
    s
}

/// Every default in the schema, each paired with the subschema path.
fn defaults(schema: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    if let Some(d) = schema.get("default") {
        out.push((path.to_string(), d.clone()));
    }
    if let Some(p) = schema.get("properties").and_then(Value::as_object) {
        for (k, s) in p {
            defaults(
                s,
                &format!(
                    "{path}/properties/{}",
                    k.replace('~', "~0").replace('/', "~1")
                ),
                out,
            );
        }
    }
    for k in ["items", "additionalProperties"] {
        if let Some(s) = schema.get(k).filter(|s| s.is_object()) {
            defaults(s, &format!("{path}/{k}"), out);
        }
    }
}

proptest! {
    #[test]
    fn titles_match_the_word_list_spelling(name in "[a-zA-Z0-9_. -]{0,24}|\\PC{0,12}") {
        prop_assert_eq!(title_of(&name), title_by_words(&name));
    }

    #[test]
    fn random_schemas_never_panic(s in any::<u8>().prop_flat_map(|_| arb_schema()), junk in "\\PC{0,20}") {
        let _ = form_schema(&s);
        let _ = form_schema(&json!({"type": junk, "properties": {"a": s.clone()}, "items": [s]}));
    }

    #[test]
    fn the_definitions_own_defaults_validate(s in arb_schema()) {
        let form = try_form_schema(&s).expect("generated schemas are structural");
        let mut found = Vec::new();
        defaults(&s, "", &mut found);
        for (path, d) in found {
            // The same subschema in the form: paths are kept by the mapping.
            let sub = form.pointer(&path).cloned().unwrap_or(json!({}));
            let v = jsonschema::draft7::new(&sub).expect("form schema compiles");
            prop_assert!(v.is_valid(&d), "default {d} at `{path}` rejected by {sub}");
        }
    }
}

#[test]
fn kustomization_upkeep_reaches_the_publish_step() {
    struct Case {
        reason: &'static str,
        annotations: &'static str,
        want: Option<bool>,
    }
    let cases = [
        Case {
            reason: "ours asks for the upkeep",
            annotations: "    osp.dev/kustomization: 'true'\n",
            want: Some(true),
        },
        Case {
            reason: "TeraSky's dialect asks for it too",
            annotations: "    terasky.backstage.io/create-kustomization-file: 'true'\n",
            want: Some(true),
        },
        Case {
            reason: "unannotated: the input is left out (the action's default, off)",
            annotations: "    osp.dev/title: Database\n",
            want: None,
        },
    ];
    for c in cases {
        let y = xrd("v2", "", SIMPLE).replace(
            "  name: xdatabases.example.org\n",
            &format!(
                "  name: xdatabases.example.org\n  annotations:\n{}",
                c.annotations
            ),
        );
        let t = template(&y);
        let publish = &t["spec"]["steps"][1];
        assert_eq!(publish["id"], "publish", "{}", c.reason);
        assert_eq!(
            publish["input"]["updateKustomization"].as_bool(),
            c.want,
            "{}",
            c.reason
        );
    }
}

#[test]
fn user_credentials_sign_the_user_in_and_reach_the_publish_step() {
    let y = xrd("v2", "", SIMPLE);
    for (user_credentials, want_token) in [(true, true), (false, false)] {
        let opts = Options {
            user_credentials,
            allowed_hosts: vec!["gitlab.example.org".into()],
            ..Options::default()
        };
        let t = for_entities_with(&doc(&y), &opts)
            .expect("template")
            .template;
        let picker = t["spec"]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|p| p.pointer("/properties/repoUrl"))
            .expect("a repository picker");
        assert_eq!(
            picker["ui:options"]["allowedHosts"],
            json!(["gitlab.example.org"])
        );
        assert_eq!(
            picker["ui:options"]["requestUserCredentials"]["secretsKey"].as_str(),
            want_token.then_some(USER_TOKEN_SECRET),
            "user_credentials={user_credentials}"
        );
        let publish = &t["spec"]["steps"][1];
        assert_eq!(
            publish["input"]["token"].as_str(),
            want_token.then_some("${{ secrets.USER_OAUTH_TOKEN }}"),
            "user_credentials={user_credentials}"
        );
    }
}

#[test]
fn the_claim_preview_page_reads_the_form_as_the_render_step_does() {
    let y = xrd(
        "v1",
        "  claimNames: {kind: Database, plural: databases}\n",
        "type: object
properties:
  size: {type: string}
  region: {type: string, x-ui-advanced: true}",
    );
    for claim_preview in [true, false] {
        let opts = Options {
            claim_preview,
            ..Options::default()
        };
        let t = for_entities_with(&doc(&y), &opts)
            .expect("template")
            .template;
        let pages = t["spec"]["parameters"].as_array().expect("pages");
        let last = pages.last().expect("a page");
        assert_eq!(
            last["title"] == "Preview",
            claim_preview,
            "the preview page only when asked"
        );
        if claim_preview {
            let field = &last["properties"]["preview"];
            assert_eq!(field["ui:field"], "OspClaimPreview");
            assert_eq!(field["ui:options"]["definition"], "xdatabases.example.org");
            assert_eq!(
                field["ui:options"]["values"], t["spec"]["steps"][0]["input"]["values"],
                "the same values as the render step, fields moved to the advanced page included"
            );
        }
    }
}

/// The first, word-list spelling of [`title_of`]: the oracle it must
/// match.
fn title_by_words(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if matches!(c, '_' | '-' | '.' | ' ') {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        let boundary = c.is_uppercase()
            && prev.is_some_and(|p| {
                p.is_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_uppercase() && next.is_some_and(char::is_lowercase))
            });
        if boundary && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
        .iter()
        .map(|w| {
            let mut cs = w.chars();
            cs.next()
                .map(|f| f.to_uppercase().chain(cs).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn prune_required_keeps_only_listed_properties_at_every_depth() {
    struct Case {
        reason: &'static str,
        schema: Value,
        want: Value,
    }
    let obj =
        |req: Value| json!({"type": "object", "properties": {"a": {}, "b": {}}, "required": req});
    let cases = [
        Case {
            reason: "a whole list stays as it is",
            schema: obj(json!(["a", "b"])),
            want: obj(json!(["a", "b"])),
        },
        Case {
            reason: "a name without its property goes",
            schema: obj(json!(["a", "gone"])),
            want: obj(json!(["a"])),
        },
        Case {
            reason: "an emptied list goes",
            schema: obj(json!(["gone"])),
            want: json!({"type": "object", "properties": {"a": {}, "b": {}}}),
        },
        Case {
            reason: "an empty list goes",
            schema: obj(json!([])),
            want: json!({"type": "object", "properties": {"a": {}, "b": {}}}),
        },
        Case {
            reason: "a name that is not a string goes",
            schema: obj(json!(["a", 1])),
            want: obj(json!(["a"])),
        },
        Case {
            reason: "nested properties, items and additionalProperties are pruned too",
            schema: json!({"properties": {"p": obj(json!(["x"]))},
                           "items": obj(json!(["b", "y"])),
                           "additionalProperties": obj(json!([]))}),
            want: json!({"properties": {"p": {"type": "object", "properties": {"a": {}, "b": {}}}},
                         "items": obj(json!(["b"])),
                         "additionalProperties": {"type": "object", "properties": {"a": {}, "b": {}}}}),
        },
    ];
    for c in cases {
        let mut got = c.schema;
        super::form::prune_required(&mut got);
        assert_eq!(got, c.want, "{}", c.reason);
    }
}

/// The tag spelling before it was written in one pass: the oracle.
fn tag_the_long_way(raw: &str) -> String {
    let t: String = raw
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, ':' | '+' | '#') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let t = t
        .split('-')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let t: String = t.chars().take(63).collect();
    t.trim_end_matches('-').to_string()
}

proptest::proptest! {
    #[test]
    fn tags_are_spelled_as_the_long_way_spells_them(raw in "[-a-zA-Z0-9:+# _.İΣσé]{0,80}") {
        proptest::prop_assert_eq!(super::tag_of(&raw), tag_the_long_way(&raw));
    }
}
