use serde_json::{Value, json};

use super::*;
use crate::definition::for_document;
use crate::document::{Limits, from_yaml};

/// A v1 XRD offering a claim, with nested required fields, defaults
/// (falsy ones too), an integer, int-or-string, a preserved object and a
/// CEL rule comparing two fields.
const V1_CLAIM_XRD: &str = r#"
apiVersion: apiextensions.crossplane.io/v1
kind: CompositeResourceDefinition
metadata:
  name: xpostgresqlinstances.database.example.org
spec:
  group: database.example.org
  names: {kind: XPostgreSQLInstance, plural: xpostgresqlinstances}
  claimNames: {kind: PostgreSQLInstance, plural: postgresqlinstances}
  versions:
  - name: v1alpha1
    served: true
    referenceable: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [parameters]
            properties:
              parameters:
                type: object
                required: [storageGB]
                x-kubernetes-validations:
                - rule: "self.minReplicas <= self.maxReplicas"
                  message: minReplicas must not exceed maxReplicas
                properties:
                  storageGB: {type: integer, minimum: 1}
                  version: {type: string, enum: ["15", "16"], default: "16"}
                  minReplicas: {type: integer, default: 1}
                  maxReplicas: {type: integer, default: 3}
                  highAvailability: {type: boolean, default: false}
                  port: {x-kubernetes-int-or-string: true}
                  extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;

/// A v2 namespaced XRD.
const V2_XR_XRD: &str = r#"
apiVersion: apiextensions.crossplane.io/v2
kind: CompositeResourceDefinition
metadata:
  name: apps.platform.example.org
  annotations:
    osp.dev/target-path: "clusters/{cluster}/apps/{namespace}"
spec:
  group: platform.example.org
  names: {kind: App, plural: apps}
  scope: Namespaced
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
              image: {type: string, default: nginx}
              replicas: {type: integer, default: 1}
"#;

/// A v2 cluster-scoped XRD.
const V2_CLUSTER_XRD: &str = r#"
apiVersion: apiextensions.crossplane.io/v2
kind: CompositeResourceDefinition
metadata:
  name: networks.platform.example.org
spec:
  group: platform.example.org
  names: {kind: Network, plural: networks}
  scope: Cluster
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
              cidr: {type: string, format: cidr, default: 10.0.0.0/16}
"#;

fn def(yaml: &str) -> Definition {
    for_document(&from_yaml(yaml, Limits::default()).expect("yaml")).expect("definition")
}

fn input(name: &str, namespace: Option<&str>, values: Value) -> ClaimInput {
    ClaimInput {
        name: name.into(),
        namespace: namespace.map(str::to_string),
        values,
        ..Default::default()
    }
}

#[test]
fn renders_a_v1_claim_with_composition_choice() {
    let d = def(V1_CLAIM_XRD);
    let mut i = input(
        "orders-db",
        Some("team-a"),
        // Values as a protobuf Struct delivers them: integers as doubles.
        json!({"parameters": {"storageGB": 20.0, "port": "5432", "extra": {"z": 1, "a": 2}, "version": ""}}),
    );
    i.owner = Some("group:default/team-a".into());
    i.template_ref = Some("template:default/postgresql".into());
    i.composition = CompositionChoice {
        composition_name: Some("postgres-aws".into()),
        composition_selector: [("provider".to_string(), "aws".to_string())].into(),
        update_policy: Some("Manual".into()),
        connection_secret_name: Some("orders-db-conn".into()),
        ..Default::default()
    };
    let r = for_claim(&d, &i).expect("valid");
    assert_eq!(r.path, "default/team-a/postgresqlinstance/orders-db.yaml");
    assert_eq!(
        r.idempotency_key,
        "claim/default/team-a/postgresqlinstance/orders-db"
    );
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    insta::assert_snapshot!(r.yaml);
}

#[test]
fn a_claim_takes_a_composite_delete_policy() {
    struct Case {
        reason: &'static str,
        xrd: &'static str,
        policy: &'static str,
        want: Result<&'static str, &'static str>,
    }
    let cases = [
        Case {
            reason: "a claim: placed in spec",
            xrd: V1_CLAIM_XRD,
            policy: "Foreground",
            want: Ok("Foreground"),
        },
        Case {
            reason: "a value Crossplane does not know",
            xrd: V1_CLAIM_XRD,
            policy: "Orphan",
            want: Err(
                "spec.compositeDeletePolicy: unsupported value `Orphan`, expected `Background` or `Foreground`",
            ),
        },
        Case {
            reason: "an XR has no claim to delete",
            xrd: V2_XR_XRD,
            policy: "Background",
            want: Err(
                "spec.crossplane.compositeDeletePolicy: a delete policy can only be chosen for claims, `App` is an XR",
            ),
        },
    ];
    for c in cases {
        let d = def(c.xrd);
        let values = if c.xrd == V1_CLAIM_XRD {
            json!({"parameters": {"storageGB": 20}})
        } else {
            Value::Null
        };
        let mut i = input("orders-db", Some("team-a"), values);
        i.composition.composite_delete_policy = Some(c.policy.into());
        match (for_claim(&d, &i), c.want) {
            (Ok(r), Ok(want)) => {
                assert_eq!(
                    r.manifest["spec"]["compositeDeletePolicy"], want,
                    "{}",
                    c.reason
                )
            }
            (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{}: {e}", c.reason),
            (got, want) => panic!("{}: got {got:?}, want {want:?}", c.reason),
        }
    }
}

#[test]
fn renders_a_v2_xr_with_composition_under_spec_crossplane() {
    let d = def(V2_XR_XRD);
    let mut i = input("web", Some("team-a"), json!({"replicas": 2}));
    i.cluster = Some("prod".into());
    i.composition.composition_name = Some("app-k8s".into());
    i.composition.update_policy = Some("Automatic".into());
    let r = for_claim(&d, &i).expect("valid");
    assert_eq!(r.path, "clusters/prod/apps/team-a/web.yaml");
    insta::assert_snapshot!(r.yaml);
}

#[test]
fn default_paths_lie_under_the_publish_base() {
    struct Case {
        reason: &'static str,
        yaml: &'static str,
        base: Option<&'static str>,
        want: &'static str,
    }
    let cases = [
        Case {
            reason: "no base: the layout as before",
            yaml: V1_CLAIM_XRD,
            base: None,
            want: "default/team-a/postgresqlinstance/orders-db.yaml",
        },
        Case {
            reason: "the documented `publish.base: clusters`",
            yaml: V1_CLAIM_XRD,
            base: Some("clusters"),
            want: "clusters/default/team-a/postgresqlinstance/orders-db.yaml",
        },
        Case {
            reason: "slashes around the base are not segments",
            yaml: V1_CLAIM_XRD,
            base: Some("/gitops/clusters/"),
            want: "gitops/clusters/default/team-a/postgresqlinstance/orders-db.yaml",
        },
        Case {
            reason: "an empty base means anywhere",
            yaml: V1_CLAIM_XRD,
            base: Some(""),
            want: "default/team-a/postgresqlinstance/orders-db.yaml",
        },
        Case {
            reason: "a definition's pattern is the whole path, not put under the base again",
            yaml: V2_XR_XRD,
            base: Some("clusters"),
            want: "clusters/default/apps/team-a/orders-db.yaml",
        },
    ];
    for c in cases {
        let d = def(c.yaml);
        let values = if c.yaml == V1_CLAIM_XRD {
            json!({"parameters": {"storageGB": 20}})
        } else {
            Value::Null
        };
        let mut i = input("orders-db", Some("team-a"), values);
        i.base = c.base.map(str::to_string);
        let r = for_claim(&d, &i).expect(c.reason);
        assert_eq!(r.path, c.want, "{}", c.reason);
        let base = c.base.unwrap_or_default().trim_matches('/');
        assert!(
            crate::publish::path::for_path(&r.path, base).is_ok(),
            "{}: publishing under `{base}` accepts `{}`",
            c.reason,
            r.path
        );
    }
}

#[test]
fn renders_a_cluster_scoped_xr_without_namespace() {
    let d = def(V2_CLUSTER_XRD);
    let r = for_claim(&d, &input("core", None, Value::Null)).expect("valid");
    assert_eq!(r.path, "default/network/core.yaml");
    assert_eq!(r.idempotency_key, "claim/default/network/core");
    assert_eq!(r.manifest["spec"], json!({"cidr": "10.0.0.0/16"}));
    assert!(r.manifest["metadata"].get("namespace").is_none());
}

#[test]
fn entity_ref_is_the_one_the_catalog_gives_the_object() {
    struct Case {
        reason: &'static str,
        xrd: &'static str,
        name: String,
        namespace: Option<String>,
        cluster: Option<&'static str>,
        want: String,
    }
    let long = "n".repeat(63);
    let cases = [
        Case {
            reason: "a claim in the default cluster: name, kind, namespace, cluster",
            xrd: V1_CLAIM_XRD,
            name: "orders-db".into(),
            namespace: Some("team-a".into()),
            cluster: None,
            want: "resource:default/orders-db.postgresqlinstance.team-a.default".into(),
        },
        Case {
            reason: "a namespaced v2 XR in a named cluster",
            xrd: V2_XR_XRD,
            name: "web".into(),
            namespace: Some("team-a".into()),
            cluster: Some("prod"),
            want: "resource:default/web.app.team-a.prod".into(),
        },
        Case {
            reason: "a cluster-scoped XR has no namespace segment",
            xrd: V2_CLUSTER_XRD,
            name: "core".into(),
            namespace: None,
            cluster: Some("prod"),
            want: "resource:default/core.network.prod".into(),
        },
        Case {
            reason: "a name too long for the catalog is shortened with its hash, as the catalog does",
            xrd: V1_CLAIM_XRD,
            name: long.clone(),
            namespace: Some(long.clone()),
            cluster: None,
            want: format!(
                "resource:default/{}",
                crate::entity::name_for(&format!("{long}.postgresqlinstance.{long}.default"))
            ),
        },
    ];
    for c in cases {
        let d = def(c.xrd);
        let mut i = input(&c.name, c.namespace.as_deref(), Value::Null);
        if c.xrd == V1_CLAIM_XRD {
            i.values = json!({"parameters": {"storageGB": 20}});
        }
        i.cluster = c.cluster.map(str::to_string);
        let r = for_claim(&d, &i).unwrap_or_else(|e| panic!("{}: {e}", c.reason));
        assert_eq!(r.entity_ref, c.want, "{}", c.reason);
        assert_eq!(
            entity_ref(&d, &i),
            c.want,
            "{}: the free function",
            c.reason
        );
        // What the catalog builds from the object once it is in the cluster.
        let composites = Default::default();
        let ctx = crate::resource::Context {
            cluster: c.cluster.unwrap_or("default"),
            definition: &d,
            template_name: "",
            app_base_url: "",
            default_owner: "group:default/team-a",
            default_system: None,
            passthrough: &crate::resource::Passthrough::NONE,
            composites: &composites,
        };
        let entity = crate::resource::for_resource(&r.manifest, &ctx)
            .unwrap_or_else(|e| panic!("{}: {e}", c.reason));
        assert_eq!(
            crate::entity::ref_of(&entity),
            r.entity_ref,
            "{}: the catalog's ref",
            c.reason
        );
    }
}

#[test]
fn rejects_with_every_violation() {
    struct Case {
        reason: &'static str,
        yaml: &'static str,
        input: ClaimInput,
        want: Vec<&'static str>,
    }
    let cases = [
        Case {
            reason: "nested required field missing, CEL rule comparing two fields, bad name",
            yaml: V1_CLAIM_XRD,
            input: input(
                "Orders_DB",
                Some("team-a"),
                json!({"parameters": {"minReplicas": 5, "maxReplicas": 2}}),
            ),
            want: vec![
                "metadata.name: `Orders_DB` must consist of lower case alphanumeric characters or `-`, and must start and end with an alphanumeric character",
                "spec.parameters.storageGB: required value",
                "spec.parameters: minReplicas must not exceed maxReplicas",
            ],
        },
        Case {
            reason: "a namespaced claim needs a namespace",
            yaml: V1_CLAIM_XRD,
            input: input("db", None, json!({"parameters": {"storageGB": 1}})),
            want: vec!["metadata.namespace: required value: `PostgreSQLInstance` is namespaced"],
        },
        Case {
            reason: "a cluster-scoped XR takes no namespace",
            yaml: V2_CLUSTER_XRD,
            input: input("core", Some("x"), Value::Null),
            want: vec!["metadata.namespace: must not be set: `Network` is cluster-scoped"],
        },
        Case {
            reason: "crossplane's fields are reserved",
            yaml: V1_CLAIM_XRD,
            input: input(
                "db",
                Some("a"),
                json!({"parameters": {"storageGB": 1}, "compositionRef": {"name": "x"}}),
            ),
            want: vec![
                "spec.compositionRef: `compositionRef` is managed by crossplane; set it with the composition choice",
            ],
        },
        Case {
            reason: "an XR cannot choose a connection secret; bad update policy",
            yaml: V2_XR_XRD,
            input: ClaimInput {
                composition: CompositionChoice {
                    update_policy: Some("Sometimes".into()),
                    connection_secret_name: Some("s".into()),
                    ..Default::default()
                },
                ..input("web", Some("a"), Value::Null)
            },
            want: vec![
                "spec.crossplane.compositionUpdatePolicy: unsupported value `Sometimes`, expected `Automatic` or `Manual`",
                "spec.crossplane.writeConnectionSecretToRef: connection secrets can only be chosen for claims, `App` is an XR",
            ],
        },
        Case {
            reason: "values must be an object",
            yaml: V2_XR_XRD,
            input: input("web", Some("a"), json!([1])),
            want: vec!["spec: must be an object, got `array`"],
        },
    ];
    for c in cases {
        let got = match for_claim(&def(c.yaml), &c.input) {
            Err(Error::Validation(v)) => v.iter().map(Violation::to_string).collect::<Vec<_>>(),
            other => panic!("{}: expected violations, got {other:?}", c.reason),
        };
        let mut got = got;
        got.sort();
        let mut want: Vec<String> = c.want.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(got, want, "{}", c.reason);
    }
}

#[test]
fn no_yaml_injection_through_values() {
    let d = def(V2_XR_XRD);
    let r = for_claim(
        &d,
        &input(
            "web",
            Some("a"),
            json!({"image": "nginx\nkind: Secret\n---\nx: y"}),
        ),
    )
    .expect("valid");
    let back = from_yaml(&r.yaml, Limits::default()).expect("one document");
    assert_eq!(back, r.manifest);
    assert_eq!(back["kind"], json!("App"));
}

#[test]
fn target_path_errors_name_the_annotation() {
    let mut d = def(V2_XR_XRD);
    d.annotations
        .insert("osp.dev/target-path".into(), "x/{team}/".into());
    let err = for_claim(&d, &input("web", Some("a"), Value::Null)).expect_err("bad pattern");
    insta::assert_snapshot!(err.to_string());
}

#[test]
fn defaults_only_is_known_from_the_schema() {
    assert!(!defaults_only(&def(V1_CLAIM_XRD)));
    assert!(defaults_only(&def(V2_XR_XRD)));
}

mod props {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    proptest! {
        /// Any string value renders to YAML that reads back as the same
        /// manifest, and no value makes rendering panic.
        #[test]
        fn any_string_round_trips(s in ".{0,64}", n in any::<i32>()) {
            let d = def(V2_XR_XRD);
            let i = input("web", Some("a"), json!({"image": s, "replicas": f64::from(n)}));
            if let Ok(r) = for_claim(&d, &i) {
                let back = from_yaml(&r.yaml, Limits::default()).expect("yaml");
                prop_assert_eq!(back, r.manifest);
            }
        }
    }
}

#[test]
fn a_published_claim_records_where_it_lives_and_its_resource_carries_it() {
    let d = def(V1_CLAIM_XRD);
    let mut i = input(
        "orders-db",
        Some("team-a"),
        json!({"parameters": {"storageGB": 20}}),
    );
    let plain = for_claim(&d, &i).expect("renders");
    assert!(
        plain.manifest["metadata"]["annotations"]
            .get(crate::annotations::REPO_URL)
            .is_none(),
        "no repository given: nothing recorded"
    );
    i.repo_url = Some("gitlab.example.org?owner=acme/platform&repo=gitops".into());
    let r = for_claim(&d, &i).expect("renders");
    let a = &r.manifest["metadata"]["annotations"];
    assert_eq!(
        a["osp.dev/repo-url"],
        "gitlab.example.org?owner=acme/platform&repo=gitops"
    );
    assert_eq!(
        a["osp.dev/repo-path"],
        r.path.as_str(),
        "the suggested path"
    );
    assert_eq!(a["osp.dev/idempotency-key"], r.idempotency_key.as_str());
    i.target_path = Some("apps/db/orders.yaml".into());
    let fixed = for_claim(&d, &i).expect("renders");
    assert_eq!(
        fixed.manifest["metadata"]["annotations"]["osp.dev/repo-path"],
        "apps/db/orders.yaml"
    );

    let ctx = crate::resource::Context {
        cluster: "default",
        definition: &d,
        template_name: "",
        app_base_url: "http://localhost:3000",
        default_owner: "group:default/team-a",
        default_system: None,
        passthrough: &crate::resource::Passthrough::NONE,
        composites: &Default::default(),
    };
    let entity = crate::resource::for_resource(&fixed.manifest, &ctx).expect("resource");
    for key in crate::annotations::SOURCE_KEYS {
        assert_eq!(
            entity["metadata"]["annotations"][key], fixed.manifest["metadata"]["annotations"][key],
            "`{key}` reaches the Resource"
        );
    }
}
