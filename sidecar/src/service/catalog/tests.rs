use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::catalog::{Settings, SourceReport};
use crate::store::Known;

fn known() -> Known {
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
        cluster: "a".into(),
        file: None,
        converted: Arc::new(osp::convert::for_entities(&doc).expect("converts")),
    }
}

fn claim(name: &str) -> Value {
    json!({"apiVersion": "example.org/v1", "kind": "Db",
           "metadata": {"name": name, "namespace": "team-a"}, "spec": {}})
}

/// A ready service whose catalog holds the Template, the API and `claims`
/// Resources.
fn service(claims: usize) -> Catalog {
    let state = State::default();
    state.catalog.configure(Settings {
        clusters: vec!["a".into()],
        sync_timeout: Duration::from_secs(3600),
        default_owner: None,
        ..Settings::default()
    });
    state.store.replace_cluster("a", vec![known()]);
    let objects: Vec<Value> = (0..claims).map(|i| claim(&format!("c{i}"))).collect();
    state.catalog.replace_objects("a", "dbs", objects);
    state.catalog.set_state("a", SourceReport::SYNCED);
    state.catalog.rebuild();
    Catalog::new(state)
}

fn request(size: u32, token: &str, encoding: EntityEncoding) -> pb::GetSnapshotRequest {
    pb::GetSnapshotRequest {
        encoding: encoding as i32,
        page_size: size,
        page_token: token.into(),
    }
}

/// Every page from `token` on; the revision of each.
fn pages(svc: &Catalog, size: u32, encoding: EntityEncoding) -> (Vec<pb::Entity>, Vec<u64>) {
    let (mut entities, mut revisions, mut token) = (Vec::new(), Vec::new(), String::new());
    loop {
        let page = svc.page(&request(size, &token, encoding)).expect("page");
        let max = if size == 0 {
            DEFAULT_PAGE_SIZE
        } else {
            size as usize
        };
        assert!(page.entities.len() <= max, "page within its size");
        entities.extend(page.entities);
        revisions.push(page.revision);
        if page.next_page_token.is_empty() {
            return (entities, revisions);
        }
        token = page.next_page_token;
    }
}

#[test]
fn pages_cover_the_snapshot_once() {
    let svc = service(10);
    let (all, revisions) = pages(&svc, 0, EntityEncoding::Json);
    assert_eq!(revisions.len(), 1, "the default page holds a small catalog");
    assert_eq!(all.len(), 12, "Template, API and 10 Resources");
    let (paged, revisions) = pages(&svc, 5, EntityEncoding::Json);
    assert_eq!(revisions.len(), 3, "12 entities in pages of 5");
    assert!(revisions.windows(2).all(|w| w[0] == w[1]), "one revision");
    let refs = |es: &[pb::Entity]| es.iter().map(|e| e.r#ref.clone()).collect::<Vec<_>>();
    assert_eq!(
        refs(&paged),
        refs(&all),
        "same entities, same order, no repeats"
    );
}

#[test]
fn encodings_carry_the_same_entity() {
    let svc = service(1);
    let (json, _) = pages(&svc, 0, EntityEncoding::Json);
    let (structs, _) = pages(&svc, 0, EntityEncoding::Unspecified);
    for (j, s) in json.iter().zip(&structs) {
        assert!(j.entity.is_none(), "JSON encoding leaves the Struct out");
        assert!(s.json.is_empty(), "the default leaves the JSON text out");
        let from_json: Value = serde_json::from_str(&j.json).expect("JSON text");
        let from_struct = protobuf_struct::from_struct(s.entity.as_ref().expect("struct"));
        assert_eq!(from_json, from_struct, "{}", j.r#ref);
        assert_eq!(j.etag, s.etag, "{}", j.r#ref);
    }
}

#[test]
fn a_page_token_keeps_its_revision() {
    let svc = service(4);
    let first = svc
        .page(&request(2, "", EntityEncoding::Json))
        .expect("page");
    // The catalog changes between pages.
    svc.state.catalog.upsert_object("a", "dbs", claim("new"));
    svc.state.catalog.rebuild();
    let now = svc
        .page(&request(100, "", EntityEncoding::Json))
        .expect("page");
    assert_ne!(now.revision, first.revision, "the catalog moved on");
    let second = svc
        .page(&request(100, &first.next_page_token, EntityEncoding::Json))
        .expect("page");
    assert_eq!(
        second.revision, first.revision,
        "the old snapshot is served"
    );
    assert_eq!(first.entities.len() + second.entities.len(), 6, "as it was");
}

#[test]
fn bad_and_expired_page_tokens() {
    struct Case<'a> {
        reason: &'static str,
        token: &'a str,
        want: tonic::Code,
    }
    let svc = service(4);
    let first = svc
        .page(&request(2, "", EntityEncoding::Json))
        .expect("page");
    for i in 0..=crate::catalog::KEPT_SNAPSHOTS {
        svc.state
            .catalog
            .upsert_object("a", "dbs", claim(&format!("n{i}")));
        svc.state.catalog.rebuild();
        svc.page(&request(1, "", EntityEncoding::Json))
            .expect("page");
    }
    let expired = first.next_page_token;
    let cases = [
        Case {
            reason: "garbage is invalid",
            token: "not-a-token",
            want: tonic::Code::InvalidArgument,
        },
        Case {
            reason: "right length, not hex",
            token: "zzzzzzzzzzzzzzzzzzzzzzzz",
            want: tonic::Code::InvalidArgument,
        },
        Case {
            reason: "a snapshot no longer kept",
            token: expired.as_str(),
            want: tonic::Code::Aborted,
        },
    ];
    for c in cases {
        let err = svc
            .page(&request(2, c.token, EntityEncoding::Json))
            .expect_err(c.reason);
        assert_eq!(tonic::Status::from(err).code(), c.want, "{}", c.reason);
    }
}
