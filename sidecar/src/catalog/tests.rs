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
        ..Settings::default()
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
    c.set_state("a", SourceReport::SYNCED);
    c.rebuild();
    assert_eq!(
        c.snapshot().err(),
        Some(Error::AwaitSync {
            waiting: vec!["b".into()]
        }),
        "one synced cluster is not enough before the timeout"
    );
    c.set_state("b", SourceReport::SYNCED);
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
    c.set_state("a", SourceReport::SYNCED);
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
    c.set_state("a", SourceReport::SYNCED);
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
    c.set_state("a", SourceReport::failing("connection refused"));
    c.rebuild();
    assert_eq!(refs(&c).len(), 3, "a stale cluster keeps its entities");
    c.store().replace_cluster("a", vec![]);
    c.rebuild();
    assert!(
        refs(&c).is_empty(),
        "without their definition, objects are no entities"
    );
}

/// The XRD of [`known`] and one claim, as a `--from-dir` file.
const FILES: &str = "apiVersion: apiextensions.crossplane.io/v1
kind: CompositeResourceDefinition
metadata: {name: xdbs.example.org}
spec:
  group: example.org
  names: {kind: XDb, plural: xdbs}
  claimNames: {kind: Db, plural: dbs}
  versions: [{name: v1, served: true, referenceable: true, schema: {openAPIV3Schema: {type: object}}}]
---
apiVersion: example.org/v1
kind: Db
metadata: {name: from-file, namespace: team-a}
spec: {}
";

#[test]
fn links_are_absolute_from_dir_and_from_clusters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = Catalog::new(Store::default(), 5);
    c.configure(Settings {
        clusters: vec![crate::store::FROM_DIR_CLUSTER.into(), "prod".into()],
        sync_timeout: Duration::from_secs(3600),
        app_base_url: "https://portal.example.org/backstage".into(),
        ..Settings::default()
    });
    std::fs::write(dir.path().join("defs.yaml"), FILES).expect("write");
    let mut scanner = crate::discovery::dir::Scanner::new(
        dir.path().to_path_buf(),
        Default::default(),
        Default::default(),
    );
    scanner.scan(&c).expect("scan");
    c.store().replace_cluster("prod", vec![known("prod")]);
    c.replace_objects("prod", "dbs", vec![claim("live")]);
    c.set_state("prod", SourceReport::SYNCED);
    c.rebuild();
    let snapshot = c.snapshot().expect("ready");
    let edits: Vec<(String, String)> = snapshot
        .entities
        .iter()
        .filter_map(|(r, e)| {
            let url = e.entity["metadata"]["links"][0]["url"]
                .as_str()?
                .to_string();
            Some((r.clone(), url))
        })
        .collect();
    assert_eq!(edits.len(), 2, "one claim from each source: {edits:?}");
    for (r, url) in edits {
        assert!(
            url.starts_with("https://portal.example.org/backstage/create/templates/default/"),
            "{r}: {url}"
        );
    }
}

#[test]
fn same_name_from_two_clusters_follows_the_first_and_names_the_differences() {
    struct Case {
        reason: &'static str,
        second_title: Option<&'static str>,
        want_differing: Vec<&'static str>,
    }
    let cases = [
        Case {
            reason: "the same definition in two clusters is one Template, no warning",
            second_title: None,
            want_differing: vec![],
        },
        Case {
            reason: "a different copy is named; the first cluster's is used",
            second_title: Some("Other"),
            want_differing: vec!["cluster `b`"],
        },
    ];
    for c in cases {
        let mut second = known("b");
        if let Some(t) = c.second_title {
            let mut conv = (*second.converted).clone();
            conv.api["metadata"]["title"] = json!(t);
            conv.template["metadata"]["title"] = json!(t);
            second.converted = Arc::new(conv);
        }
        let first = known("a");
        assert_eq!(
            build::differing(&[&first, &second]),
            c.want_differing,
            "{}",
            c.reason
        );
        let cat = catalog(&["a", "b"], Duration::from_secs(3600));
        // Reported in the other order: configuration order decides.
        cat.store().replace_cluster("b", vec![second]);
        cat.store().replace_cluster("a", vec![first.clone()]);
        cat.set_state("a", SourceReport::SYNCED);
        cat.set_state("b", SourceReport::SYNCED);
        cat.rebuild();
        let snapshot = cat.snapshot().expect("ready");
        let template = snapshot
            .entities
            .iter()
            .find(|(r, _)| r == "template:default/xdbs.example.org")
            .map(|(_, e)| e.entity.clone())
            .expect("one Template");
        assert_eq!(
            template["metadata"]["title"], first.converted.template["metadata"]["title"],
            "{}",
            c.reason
        );
        assert_eq!(
            template["metadata"]["annotations"]["osp.dev/clusters"], "a,b",
            "{}",
            c.reason
        );
    }
}

/// XRD `xdb{i}s.example.org` (claim kind `Db{i}`), titled `title`.
fn numbered(i: usize, title: &str) -> Known {
    crate::fixtures::xrd_v1()
        .named(&format!("xdb{i}s"), &format!("XDb{i}"))
        .claimed(&format!("db{i}s"), &format!("Db{i}"))
        .annotated("backstage.io/title", title)
        .known("a")
}

fn numbered_claim(i: usize, name: &str) -> Value {
    json!({"apiVersion": "example.org/v1", "kind": format!("Db{i}"),
           "metadata": {"name": name, "namespace": "team-a"}, "spec": {}})
}

/// Every entity of the snapshot and its JSON text.
fn texts(c: &Catalog) -> Vec<(String, String)> {
    let s = c.snapshot().expect("ready");
    s.entities
        .iter()
        .map(|(r, e)| (r.clone(), e.json.to_string()))
        .collect()
}

/// The same definitions and objects built at once by a fresh catalog.
fn from_scratch(known: Vec<Known>, objects: &[(String, Vec<Value>)]) -> Vec<(String, String)> {
    let c = catalog(&["a"], Duration::from_secs(3600));
    c.store().replace_cluster("a", known);
    for (source, objs) in objects {
        c.replace_objects("a", source, objs.clone());
    }
    c.set_state("a", SourceReport::SYNCED);
    c.rebuild();
    texts(&c)
}

fn built(c: &Catalog) -> usize {
    lock(&c.inner.cache).built()
}

#[test]
fn a_change_rebuilds_only_what_it_touches() {
    let c = catalog(&["a"], Duration::from_secs(3600));
    let mut known: Vec<Known> = (0..3).map(|i| numbered(i, "Db")).collect();
    let mut objects: Vec<(String, Vec<Value>)> = (0..3)
        .map(|i| {
            let claims = (0..4)
                .map(|n| numbered_claim(i, &format!("c{i}-{n}")))
                .collect();
            (format!("example.org/Db{i}"), claims)
        })
        .collect();
    c.store().replace_cluster("a", known.clone());
    for (source, objs) in &objects {
        c.replace_objects("a", source, objs.clone());
    }
    c.set_state("a", SourceReport::SYNCED);
    c.rebuild();
    assert_eq!(built(&c), 3 + 12, "the first build makes every entity");
    let before = c.snapshot().expect("ready");

    let mut changed = numbered_claim(1, "c1-2");
    changed["metadata"]["annotations"] = json!({"osp.dev/owner": "group:default/x"});
    c.upsert_object("a", "example.org/Db1", changed.clone());
    objects[1].1[2] = changed;
    c.rebuild();
    assert_eq!(built(&c), 16, "one claim changed: one Resource made");
    let after = c.snapshot().expect("ready");
    let reused = before
        .entities
        .iter()
        .zip(&after.entities)
        .filter(|((_, b), (_, a))| {
            Arc::ptr_eq(&b.entity, &a.entity) && Arc::ptr_eq(&b.json, &a.json)
        })
        .count();
    assert_eq!(
        reused,
        before.entities.len() - 1,
        "every other entity and its JSON kept"
    );
    assert_eq!(
        texts(&c),
        from_scratch(known.clone(), &objects),
        "as if built at once"
    );

    known[0] = numbered(0, "Renamed");
    c.store().replace_cluster("a", known.clone());
    c.rebuild();
    assert_eq!(
        built(&c),
        16 + 1 + 4,
        "one definition changed: it and its 4 claims"
    );
    let template = c
        .snapshot()
        .expect("ready")
        .entities
        .iter()
        .find(|(r, _)| r == "template:default/xdb0s.example.org")
        .map(|(_, e)| e.entity["metadata"]["title"].clone());
    assert_eq!(template, Some(json!("Renamed")), "the Template follows it");
    assert_eq!(
        texts(&c),
        from_scratch(known.clone(), &objects),
        "as if built at once"
    );

    known.remove(2);
    c.store().replace_cluster("a", known.clone());
    c.rebuild();
    assert_eq!(
        built(&c),
        21 + 8,
        "a removal builds no Template or API; its XR kind leaving the XR kinds \
         rebuilds the 8 other claims' Resources (dependsOn names nested XRs)"
    );
    let refs = refs(&c);
    assert!(
        !refs
            .iter()
            .any(|r| r.contains("xdb2s") || r.contains(".db2.")),
        "its Template, API and Resources are gone: {refs:?}"
    );
    assert_eq!(
        texts(&c),
        from_scratch(known, &objects),
        "as if built at once"
    );
}
