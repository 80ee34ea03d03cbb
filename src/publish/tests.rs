use std::collections::BTreeMap;

use super::*;

fn write(path: &str, content: &str) -> Change {
    Change {
        path: path.into(),
        content: Some(content.into()),
    }
}

fn delete(path: &str) -> Change {
    Change {
        path: path.into(),
        content: None,
    }
}

fn request(changes: Vec<Change>, kustomize: bool) -> Request {
    Request {
        changes,
        idempotency_key: "claim/team-a/db1".into(),
        title: "Add db1".into(),
        requested_by: "user:default/jane".into(),
        update_kustomization: kustomize,
        ..Request::default()
    }
}

fn layout() -> Layout {
    Layout {
        base: "clusters".into(),
        ..Layout::default()
    }
}

#[test]
fn rejects_bad_requests_with_the_bad_path() {
    struct Case {
        reason: &'static str,
        changes: Vec<Change>,
        want: &'static str,
    }
    let cases = [
        Case {
            reason: "nothing to publish",
            changes: vec![],
            want: "no files to publish",
        },
        Case {
            reason: "traversal out of the base",
            changes: vec![write("clusters/../../etc/passwd", "x")],
            want: "path `clusters/../../etc/passwd` contains `..`",
        },
        Case {
            reason: "outside the base",
            changes: vec![write("apps/db1.yaml", "x")],
            want: "path `apps/db1.yaml` is outside the base folder `clusters`",
        },
        Case {
            reason: "a delete is checked too",
            changes: vec![delete("clusters/.git/config")],
            want: "path `clusters/.git/config` points into `.git`",
        },
        Case {
            reason: "the same path twice",
            changes: vec![write("clusters/a.yaml", "x"), delete("clusters/a.yaml")],
            want: "path `clusters/a.yaml` appears more than once",
        },
    ];
    for c in cases {
        let err = for_plan(&request(c.changes, false), &layout()).expect_err(c.reason);
        assert_eq!(err.to_string(), c.want, "{}", c.reason);
    }
}

#[test]
fn plans_entries_from_current_content() {
    struct Case {
        reason: &'static str,
        changes: Vec<Change>,
        kustomize: bool,
        current: Vec<(&'static str, Option<&'static str>)>,
        want: Vec<Entry>,
    }
    let w = |p: &str, c: &str| Entry::Write {
        path: p.into(),
        content: c.into(),
    };
    let d = |p: &str| Entry::Delete { path: p.into() };
    let cases = [
        Case {
            reason: "plain writes need no reads",
            changes: vec![
                write("clusters/dev/b.yaml", "b"),
                write("clusters/dev/a.yaml", "a"),
            ],
            kustomize: false,
            current: vec![],
            want: vec![w("clusters/dev/a.yaml", "a"), w("clusters/dev/b.yaml", "b")],
        },
        Case {
            reason: "deleting a file that is already gone is a no-op",
            changes: vec![delete("clusters/dev/a.yaml")],
            kustomize: false,
            current: vec![("clusters/dev/a.yaml", None)],
            want: vec![],
        },
        Case {
            reason: "deleting an existing file",
            changes: vec![delete("clusters/dev/a.yaml")],
            kustomize: false,
            current: vec![("clusters/dev/a.yaml", Some("a"))],
            want: vec![d("clusters/dev/a.yaml")],
        },
        Case {
            reason: "a new folder gets a kustomization",
            changes: vec![write("clusters/dev/a.yaml", "a")],
            kustomize: true,
            current: vec![("clusters/dev/kustomization.yaml", None)],
            want: vec![
                w("clusters/dev/a.yaml", "a"),
                w(
                    "clusters/dev/kustomization.yaml",
                    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- a.yaml\n",
                ),
            ],
        },
        Case {
            reason: "a delete drops the kustomization entry",
            changes: vec![delete("clusters/dev/a.yaml")],
            kustomize: true,
            current: vec![
                ("clusters/dev/a.yaml", Some("a")),
                (
                    "clusters/dev/kustomization.yaml",
                    Some("resources:\n- a.yaml\n- b.yaml\n"),
                ),
            ],
            want: vec![
                d("clusters/dev/a.yaml"),
                w("clusters/dev/kustomization.yaml", "resources:\n- b.yaml\n"),
            ],
        },
    ];
    for c in cases {
        let plan = for_plan(&request(c.changes, c.kustomize), &layout()).expect(c.reason);
        let current: BTreeMap<String, Option<String>> = c
            .current
            .into_iter()
            .map(|(p, v)| (p.to_owned(), v.map(str::to_owned)))
            .collect();
        assert_eq!(
            plan.reads(),
            current.keys().cloned().collect::<Vec<_>>(),
            "{}: reads",
            c.reason
        );
        assert_eq!(
            plan.for_entries(&current).expect(c.reason),
            c.want,
            "{}",
            c.reason
        );
    }
}

#[test]
fn message_carries_trailers() {
    let plan = for_plan(
        &request(vec![write("clusters/a.yaml", "a")], false),
        &layout(),
    )
    .expect("plan");
    assert_eq!(
        plan.message,
        "Add db1\n\nOsp-Idempotency-Key: claim/team-a/db1\nOsp-Requested-By: user:default/jane\n"
    );
    assert!(plan.branch.starts_with("osp/claim-team-a-db1-"));
}

#[test]
fn provenance_names_user_template_and_entities() {
    let mut r = request(vec![write("clusters/a.yaml", "a")], false);
    r.template_ref = "template:default/xpostgres".into();
    r.entity_refs = vec!["resource:default/db1.postgres.team-a.`x`".into()];
    let plan = for_plan(&r, &layout()).expect("plan");
    assert_eq!(
        plan.body("Please review."),
        "Please review.\n\n---\nRequested by `user:default/jane` with template `template:default/xpostgres` for `resource:default/db1.postgres.team-a.'x'` (through Backstage and osp).",
        "a backtick cannot end the code span"
    );
    assert!(plan.message.ends_with(
        "Osp-Requested-By: user:default/jane\nOsp-Template: template:default/xpostgres\nOsp-Entity: resource:default/db1.postgres.team-a.`x`\n"
    ));
    let bare = for_plan(
        &Request {
            requested_by: String::new(),
            ..request(vec![write("clusters/a.yaml", "a")], false)
        },
        &layout(),
    )
    .expect("plan");
    assert_eq!(bare.body("Body\n"), "Body", "nothing known: the body alone");
    let forged = Request {
        template_ref: "template:default/x\nOsp-Requested-By: user:default/admin".into(),
        ..request(vec![write("clusters/a.yaml", "a")], false)
    };
    let plan = for_plan(&forged, &layout()).expect("plan");
    assert_eq!(
        plan.message
            .lines()
            .filter(|l| l.starts_with("Osp-Requested-By:"))
            .count(),
        1,
        "a newline in a ref forges no trailer: {}",
        plan.message
    );
}
