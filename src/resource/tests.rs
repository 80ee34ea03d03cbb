use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::*;
use crate::definition::for_document;

fn xrd() -> Definition {
    for_document(&json!({
        "apiVersion": "apiextensions.crossplane.io/v1",
        "kind": "CompositeResourceDefinition",
        "metadata": {"name": "xpostgresqlinstances.database.example.org"},
        "spec": {
            "group": "database.example.org",
            "names": {"kind": "XPostgreSQLInstance", "plural": "xpostgresqlinstances"},
            "claimNames": {"kind": "PostgreSQLInstance", "plural": "postgresqlinstances"},
            "versions": [{"name": "v1alpha1", "served": true, "referenceable": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object",
                    "properties": {"parameters": {"type": "object", "properties": {"storageGB": {"type": "integer"}}}}}}}}}]
        }
    }))
    .expect("valid XRD")
}

fn claim() -> Value {
    json!({
        "apiVersion": "database.example.org/v1alpha1",
        "kind": "PostgreSQLInstance",
        "metadata": {"name": "orders-db", "namespace": "team-a",
                     "annotations": {"osp.dev/owner": "group:default/team-a"}},
        "spec": {
            "parameters": {"storageGB": 25},
            "compositionRef": {"name": "aws"},
            "writeConnectionSecretToRef": {"name": "orders-db-conn"},
            "resourceRef": {"apiVersion": "database.example.org/v1alpha1", "kind": "XPostgreSQLInstance", "name": "orders-db-x7k2"}
        },
        "status": {
            "conditions": [
                {"type": "Synced", "status": "True", "reason": "ReconcileSuccess"},
                {"type": "Ready", "status": "False", "reason": "Creating", "message": "Unready resources: instance"}
            ],
            "endpoint": "https://orders-db.example.org",
            "connectionDetails": {"lastPublishedTime": "2025-01-01T00:00:00Z"}
        }
    })
}

fn composites() -> BTreeSet<(String, String)> {
    [(
        "database.example.org".to_string(),
        "XPostgreSQLInstance".to_string(),
    )]
    .into()
}

#[test]
fn claim_entity() {
    let def = xrd();
    let composites = composites();
    let ctx = Context {
        cluster: "prod",
        definition: &def,
        template_name: "xpostgresqlinstances.database.example.org",
        app_base_url: "http://localhost:3000",
        default_owner: "group:default/platform-team",
        composites: &composites,
    };
    let entity = for_resource(&claim(), &ctx).expect("claim entity");
    insta::assert_yaml_snapshot!(entity);
}

#[test]
fn resources_by_role() {
    struct Case {
        reason: &'static str,
        obj: Value,
        want_type: &'static str,
        want_selector: &'static str,
        want_owner: &'static str,
        want_edit: bool,
        want_depends: Value,
    }
    let xr = json!({
        "apiVersion": "database.example.org/v1alpha1", "kind": "XPostgreSQLInstance",
        "metadata": {"name": "orders-db-x7k2"},
        "spec": {"resourceRefs": [{"apiVersion": "rds.aws.upbound.io/v1beta1", "kind": "Instance", "name": "orders-db-x7k2-abc"}]}
    });
    let cases = [
        Case {
            reason: "a claim depends on its XR, is edited, and owned per its annotation",
            obj: claim(),
            want_type: "crossplane-claim",
            want_selector: "crossplane.io/claim-name=orders-db,crossplane.io/claim-namespace=team-a",
            want_owner: "group:default/team-a",
            want_edit: true,
            want_depends: json!(["resource:default/orders-db-x7k2.xpostgresqlinstance.prod"]),
        },
        Case {
            reason: "an XR behind a claim is not edited itself; managed resources are no relations",
            obj: xr,
            want_type: "crossplane-xr",
            want_selector: "crossplane.io/composite=orders-db-x7k2",
            want_owner: "group:default/platform-team",
            want_edit: false,
            want_depends: Value::Null,
        },
    ];
    let def = xrd();
    let composites = composites();
    let ctx = Context {
        cluster: "prod",
        definition: &def,
        template_name: "t",
        app_base_url: "http://localhost:3000",
        default_owner: "group:default/platform-team",
        composites: &composites,
    };
    for c in cases {
        let e = for_resource(&c.obj, &ctx).expect(c.reason);
        assert_eq!(e["spec"]["type"], c.want_type, "{}", c.reason);
        assert_eq!(
            e["metadata"]["annotations"]["backstage.io/kubernetes-label-selector"], c.want_selector,
            "{}",
            c.reason
        );
        assert_eq!(e["spec"]["owner"], c.want_owner, "{}", c.reason);
        assert_eq!(
            e["metadata"]["annotations"]
                .get("osp.dev/edit-url")
                .is_some(),
            c.want_edit,
            "{}",
            c.reason
        );
        assert_eq!(e["spec"]["dependsOn"], c.want_depends, "{}", c.reason);
    }
}

#[test]
fn edit_link_prefills_the_form() {
    let def = xrd();
    let data = for_form_data(&def, &claim(), "group:default/team-a");
    assert_eq!(
        data,
        json!({"name": "orders-db", "namespace": "team-a", "owner": "group:default/team-a",
               "spec": {"parameters": {"storageGB": 25}},
               "compositionName": "aws", "connectionSecretName": "orders-db-conn"}),
        "Crossplane's fields leave the spec and fill the advanced page"
    );
}

#[test]
fn rejects_foreign_kinds_and_nameless_objects() {
    let def = xrd();
    let composites = composites();
    let ctx = Context {
        cluster: "c",
        definition: &def,
        template_name: "",
        app_base_url: "http://localhost:3000",
        default_owner: "group:default/x",
        composites: &composites,
    };
    let foreign = json!({"apiVersion": "other.org/v1", "kind": "PostgreSQLInstance", "metadata": {"name": "a"}});
    assert!(
        matches!(for_resource(&foreign, &ctx), Err(Error::MatchKind { .. })),
        "same kind in another group is not ours"
    );
    let nameless =
        json!({"apiVersion": "database.example.org/v1alpha1", "kind": "PostgreSQLInstance"});
    assert_eq!(for_resource(&nameless, &ctx), Err(Error::ReadName));
}

#[test]
fn never_leaks_secret_values() {
    let def = xrd();
    let composites = composites();
    let ctx = Context {
        cluster: "c",
        definition: &def,
        template_name: "t",
        app_base_url: "http://localhost:3000",
        default_owner: "group:default/x",
        composites: &composites,
    };
    let mut obj = claim();
    obj["status"]["atProvider"] = json!({"password": "hunter2"});
    let text = for_resource(&obj, &ctx).expect("entity").to_string();
    assert!(
        !text.contains("hunter2"),
        "status values other than URLs and messages stay out"
    );
    assert!(text.contains("orders-db-conn"), "the secret is named");
}

#[test]
fn names_are_valid_and_distinct() {
    struct Case {
        reason: &'static str,
        args: (&'static str, &'static str, &'static str, &'static str),
        want: &'static str,
    }
    let cases = [
        Case {
            reason: "namespaced objects carry their namespace",
            args: ("prod", "PostgreSQLInstance", "team-a", "orders"),
            want: "orders.postgresqlinstance.team-a.prod",
        },
        Case {
            reason: "cluster-scoped objects have none",
            args: ("prod", "XBucket", "", "logs"),
            want: "logs.xbucket.prod",
        },
    ];
    for c in cases {
        let (cl, k, ns, n) = c.args;
        assert_eq!(name_of(cl, k, ns, n), c.want, "{}", c.reason);
    }
    let long = name_of(
        "cluster",
        "VeryLongKindNameForTesting",
        "namespace",
        &"n".repeat(63),
    );
    assert!(
        long.len() <= entity::MAX_NAME_LEN,
        "long names are shortened"
    );
    assert_ne!(
        long,
        name_of(
            "cluster",
            "VeryLongKindNameForTesting",
            "namespace2",
            &"n".repeat(63)
        ),
        "shortened names stay distinct"
    );
}
