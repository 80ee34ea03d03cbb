use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::*;
use crate::definition::for_document;

/// A context with the defaults every test shares (no system, no
/// passthrough, Backstage's default base URL).
fn ctx<'a>(
    cluster: &'a str,
    definition: &'a Definition,
    template_name: &'a str,
    default_owner: &'a str,
    composites: &'a BTreeSet<GroupKind>,
) -> Context<'a> {
    static NO_PASSTHROUGH: Passthrough = Passthrough::NONE;
    Context {
        cluster,
        definition,
        template_name,
        app_base_url: "http://localhost:3000",
        default_owner,
        default_system: None,
        composites,
        passthrough: &NO_PASSTHROUGH,
    }
}

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

fn composites() -> BTreeSet<crate::definition::kinds::GroupKind> {
    [crate::definition::kinds::GroupKind::new(
        "database.example.org",
        "XPostgreSQLInstance",
    )]
    .into()
}

#[test]
fn claim_entity() {
    let def = xrd();
    let composites = composites();
    let ctx = ctx(
        "prod",
        &def,
        "xpostgresqlinstances.database.example.org",
        "group:default/platform-team",
        &composites,
    );
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
    let ctx = ctx(
        "prod",
        &def,
        "t",
        "group:default/platform-team",
        &composites,
    );
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
    let ctx = ctx("c", &def, "", "group:default/x", &composites);
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
    let ctx = ctx("c", &def, "t", "group:default/x", &composites);
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

#[test]
fn owner_and_system_come_from_any_dialect() {
    struct Case {
        reason: &'static str,
        annotations: Value,
        owner: &'static str,
        system: Option<&'static str>,
    }
    let cases = [
        Case {
            reason: "ours",
            annotations: json!({"osp.dev/owner": "group:default/a", "osp.dev/system": "system:default/payments"}),
            owner: "group:default/a",
            system: Some("system:default/payments"),
        },
        Case {
            reason: "Backstage's own owner key, as users of other tools write on claims",
            annotations: json!({"backstage.io/owner": "group:default/b"}),
            owner: "group:default/b",
            system: None,
        },
        Case {
            reason: "TeraSky's keys",
            annotations: json!({"terasky.backstage.io/owner": "group:default/c", "terasky.backstage.io/system": "payments"}),
            owner: "group:default/c",
            system: Some("payments"),
        },
        Case {
            reason: "ours wins over the others; blank values do not count",
            annotations: json!({"osp.dev/owner": "group:default/a", "backstage.io/owner": "group:default/b", "osp.dev/system": " "}),
            owner: "group:default/a",
            system: None,
        },
        Case {
            reason: "none: the catalog's default owner",
            annotations: json!({}),
            owner: "group:default/platform-team",
            system: None,
        },
    ];
    let def = xrd();
    let composites = composites();
    let ctx = ctx(
        "prod",
        &def,
        "xpostgresqlinstances.database.example.org",
        "group:default/platform-team",
        &composites,
    );
    for c in cases {
        let mut obj = claim();
        obj["metadata"]["annotations"] = c.annotations;
        let entity = for_resource(&obj, &ctx).expect(c.reason);
        assert_eq!(entity["spec"]["owner"], c.owner, "{}", c.reason);
        assert_eq!(entity["spec"]["system"].as_str(), c.system, "{}", c.reason);
    }
}

#[test]
fn what_applied_the_object_is_annotated() {
    struct Case {
        reason: &'static str,
        metadata: Value,
        argo: Option<&'static str>,
        flux: Option<&'static str>,
    }
    let cases = [
        Case {
            reason: "Argo CD annotation tracking: the app before the first colon",
            metadata: json!({"annotations": {"argocd.argoproj.io/tracking-id": "team-a-dbs:database.example.org/PostgreSQLInstance:team-a/orders-db"}}),
            argo: Some("team-a-dbs"),
            flux: None,
        },
        Case {
            reason: "Helm's instance label is no Argo CD application",
            metadata: json!({"labels": {"app.kubernetes.io/instance": "team-a-dbs"}}),
            argo: None,
            flux: None,
        },
        Case {
            reason: "Flux's kustomize-controller labels",
            metadata: json!({"labels": {"kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}}),
            argo: None,
            flux: Some("flux-system/apps"),
        },
        Case {
            reason: "neither: no annotation; half a Flux pair is not enough",
            metadata: json!({"labels": {"kustomize.toolkit.fluxcd.io/name": "apps"}}),
            argo: None,
            flux: None,
        },
    ];
    let def = xrd();
    let composites = composites();
    let ctx = ctx(
        "prod",
        &def,
        "xpostgresqlinstances.database.example.org",
        "group:default/platform-team",
        &composites,
    );
    for c in cases {
        let mut obj = claim();
        for (k, v) in c.metadata.as_object().expect("object") {
            obj["metadata"][k] = v.clone();
        }
        let entity = for_resource(&obj, &ctx).expect(c.reason);
        let a = &entity["metadata"]["annotations"];
        assert_eq!(a["argocd/app-name"].as_str(), c.argo, "{}", c.reason);
        assert_eq!(
            a["osp.dev/flux-kustomization"].as_str(),
            c.flux,
            "{}",
            c.reason
        );
    }
}

#[test]
fn configured_annotations_and_labels_pass_through() {
    let def = xrd();
    let composites = composites();
    let passthrough = Passthrough {
        annotations: vec![
            "cost.example.org/".into(),
            "runbook".into(),
            "osp.dev/state".into(),
        ],
        labels: vec!["team".into()],
    };
    let ctx = Context {
        cluster: "prod",
        definition: &def,
        template_name: "xpostgresqlinstances.database.example.org",
        app_base_url: "http://localhost:3000",
        default_owner: "group:default/platform-team",
        default_system: None,
        passthrough: &passthrough,
        composites: &composites,
    };
    let mut obj = claim();
    obj["metadata"]["annotations"] = json!({
        "cost.example.org/center": "42", "runbook": "https://runbooks.example.org/db",
        "runbook-extra": "not listed", "osp.dev/state": "forged"
    });
    obj["metadata"]["labels"] = json!({"team": "payments", "tier": "gold"});
    let entity = for_resource(&obj, &ctx).expect("entity");
    let a = &entity["metadata"]["annotations"];
    assert_eq!(a["cost.example.org/center"], "42", "a prefix matches");
    assert_eq!(
        a["runbook"], "https://runbooks.example.org/db",
        "an exact key matches"
    );
    assert!(
        a.get("runbook-extra").is_none(),
        "an exact key is not a prefix"
    );
    assert_ne!(
        a["osp.dev/state"], "forged",
        "osp's own annotations are never overwritten"
    );
    assert_eq!(
        entity["metadata"]["labels"],
        json!({"team": "payments"}),
        "listed labels only"
    );
}
