use std::time::Duration;

use serde_json::json;

use super::*;
use crate::store::Known;

fn known(cluster: &str) -> Known {
    let doc = json!({
        "apiVersion": "apiextensions.crossplane.io/v1",
        "kind": "CompositeResourceDefinition",
        "metadata": {"name": "xdbs.example.org"},
        "spec": {"group": "example.org",
                 "names": {"kind": "XDb", "plural": "xdbs"},
                 "claimNames": {"kind": "Db", "plural": "dbs"},
                 "versions": [{"name": "v1", "served": true, "referenceable": true,
                               "schema": {"openAPIV3Schema": {"type": "object"}}}]}
    });
    Known {
        cluster: cluster.into(),
        file: None,
        converted: Arc::new(osp::convert::for_entities(&doc).expect("converts")),
    }
}

fn claim(name: &str) -> Value {
    json!({"apiVersion": "example.org/v1", "kind": "Db",
           "metadata": {"name": name, "namespace": "team-a"}, "spec": {}})
}

fn catalog(clusters: &[&str], timeout: Duration) -> Catalog {
    let c = Catalog::new(Store::default(), 5);
    c.configure(Settings {
        clusters: clusters.iter().map(|s| s.to_string()).collect(),
        sync_timeout: timeout,
        default_owner: None,
    });
    c
}

fn refs(c: &Catalog) -> Vec<String> {
    c.snapshot()
        .expect("ready")
        .entities
        .iter()
        .map(|(r, _)| r.clone())
        .collect()
}

#[test]
fn waits_for_every_cluster() {
    let c = catalog(&["a", "b"], Duration::from_secs(3600));
    c.rebuild();
    assert!(c.snapshot().is_err(), "nothing synced: unavailable");
    c.set_state("a", true, false, "");
    c.rebuild();
    assert_eq!(
        c.snapshot().err(),
        Some(Error::AwaitSync {
            waiting: vec!["b".into()]
        }),
        "one synced cluster is not enough before the timeout"
    );
    c.set_state("b", true, false, "");
    c.rebuild();
    assert!(c.snapshot().is_ok(), "all synced: ready");
}

#[test]
fn serves_the_synced_after_the_timeout() {
    let c = catalog(&["a", "b"], Duration::ZERO);
    c.rebuild();
    assert!(
        c.snapshot().is_err(),
        "no cluster synced: never an empty snapshot"
    );
    c.set_state("a", true, false, "");
    c.rebuild();
    assert!(
        c.snapshot().is_ok(),
        "after the timeout the synced ones are served"
    );
    assert_eq!(
        c.clusters().iter().map(|s| s.synced).collect::<Vec<_>>(),
        vec![true, false],
        "the others are reported"
    );
}

#[test]
fn resources_follow_objects_and_definitions() {
    let c = catalog(&["a"], Duration::from_secs(3600));
    c.store().replace_cluster("a", vec![known("a")]);
    c.replace_objects("a", "dbs", vec![claim("one"), claim("two")]);
    c.set_state("a", true, false, "");
    c.rebuild();
    let r0 = c.snapshot().expect("ready").revision;
    assert_eq!(
        refs(&c),
        vec![
            "api:default/xdbs.example.org",
            "resource:default/one.db.team-a.a",
            "resource:default/two.db.team-a.a",
            "template:default/xdbs.example.org",
        ]
    );
    c.remove_object("a", "dbs", &claim("one"));
    let mut updated = claim("two");
    updated["status"] = json!({"conditions": [{"type": "Ready", "status": "True"}]});
    c.upsert_object("a", "dbs", updated);
    c.rebuild();
    let d = c.delta(r0).expect("ready");
    assert_eq!(d.removed, vec!["resource:default/one.db.team-a.a"]);
    assert_eq!(
        d.upserted
            .iter()
            .map(|(r, _)| r.as_str())
            .collect::<Vec<_>>(),
        vec!["resource:default/two.db.team-a.a"],
        "only the changed claim is upserted"
    );
    c.set_state("a", false, true, "connection refused");
    c.rebuild();
    assert_eq!(refs(&c).len(), 3, "a stale cluster keeps its entities");
    c.store().replace_cluster("a", vec![]);
    c.rebuild();
    assert!(
        refs(&c).is_empty(),
        "without their definition, objects are no entities"
    );
}
