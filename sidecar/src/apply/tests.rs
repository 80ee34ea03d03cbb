use serde_json::json;

use super::*;

fn cluster(name: &str) -> ClusterRef {
    ClusterRef::Name(name.into())
}

/// The top-level `clusters:` list the cases name.
fn declared() -> Vec<Cluster> {
    ["dev", "qa"]
        .map(|name| Cluster {
            name: name.into(),
            ..Default::default()
        })
        .to_vec()
}

#[test]
fn admits_only_what_the_config_allows() {
    struct Case {
        reason: &'static str,
        config: ApplyConfig,
        cluster: &'static str,
        namespace: Option<&'static str>,
        caller: Option<crate::pb::Caller>,
        want: Result<(&'static str, Option<&'static str>), &'static str>,
    }
    let enabled = ApplyConfig {
        enabled: true,
        clusters: vec![cluster("dev")],
        namespaces: vec!["team-a".into()],
        ..Default::default()
    };
    let alice = crate::pb::Caller {
        user_entity_ref: "user:default/alice".into(),
        ..Default::default()
    };
    let cases = [
        Case {
            reason: "disabled by default",
            config: ApplyConfig::default(),
            cluster: "",
            namespace: Some("team-a"),
            caller: None,
            want: Err("apply is disabled"),
        },
        Case {
            reason: "the only cluster is the default",
            config: enabled.clone(),
            cluster: "",
            namespace: Some("team-a"),
            caller: None,
            want: Ok(("dev", None)),
        },
        Case {
            reason: "an unknown cluster",
            config: enabled.clone(),
            cluster: "prod",
            namespace: Some("team-a"),
            caller: None,
            want: Err("cluster `prod` is not configured for apply (known: `dev`)"),
        },
        Case {
            reason: "two clusters need a choice",
            config: ApplyConfig {
                clusters: vec![cluster("dev"), cluster("qa")],
                ..enabled.clone()
            },
            cluster: "",
            namespace: Some("team-a"),
            caller: None,
            want: Err("no target cluster: name one of `dev`, `qa`"),
        },
        Case {
            reason: "a namespace outside the allow-list",
            config: enabled.clone(),
            cluster: "dev",
            namespace: Some("team-b"),
            caller: None,
            want: Err("namespace `team-b` is not in the apply allow-list (`team-a`)"),
        },
        Case {
            reason: "`*` allows any namespace",
            config: ApplyConfig {
                namespaces: vec!["*".into()],
                ..enabled.clone()
            },
            cluster: "dev",
            namespace: Some("team-b"),
            caller: None,
            want: Ok(("dev", None)),
        },
        Case {
            reason: "cluster-scoped needs its own switch",
            config: enabled.clone(),
            cluster: "dev",
            namespace: None,
            caller: None,
            want: Err("applying cluster-scoped `DB` is not allowed"),
        },
        Case {
            reason: "impersonation maps the user ref",
            config: ApplyConfig {
                impersonate: true,
                ..enabled.clone()
            },
            cluster: "dev",
            namespace: Some("team-a"),
            caller: Some(alice),
            want: Ok(("dev", Some("alice"))),
        },
        Case {
            reason: "impersonation needs a caller",
            config: ApplyConfig {
                impersonate: true,
                ..enabled.clone()
            },
            cluster: "dev",
            namespace: Some("team-a"),
            caller: None,
            want: Err("render.caller: required"),
        },
    ];
    let definition = crate::fixtures::xrd_v1().definition();
    for c in cases {
        let mut manifest = json!({"metadata": {"name": "orders"}});
        if let Some(ns) = c.namespace {
            manifest["metadata"]["namespace"] = json!(ns);
        }
        let (clusters, _) =
            crate::clusters::resolve(&declared(), &c.config.clusters, "apply.clusters")
                .expect(c.reason);
        let applier = Applier::new(&c.config, clusters);
        let target = Target {
            definition: &definition,
            manifest: &manifest,
            cluster: c.cluster,
            caller: c.caller.as_ref(),
            dry_run: false,
        };
        let got = applier
            .admit(&target)
            .map(|(k, id)| (k.name.clone(), id.map(|i| i.user)));
        match (got, c.want) {
            (Ok((k, user)), Ok((want_k, want_user))) => {
                assert_eq!(k, want_k, "{}", c.reason);
                assert_eq!(user.as_deref(), want_user, "{}", c.reason);
            }
            (Err(e), Err(want)) => assert!(e.to_string().starts_with(want), "{}: {e}", c.reason),
            (got, want) => panic!("{}: got {got:?}, want {want:?}", c.reason),
        }
    }
}

#[test]
fn reads_the_config_section() {
    let yaml = "enabled: true
clusters: [dev, {name: qa, kubeconfig: /etc/kube/qa, context: admin}]
namespaces: [team-a, team-b]
impersonate: true
userPrefix: 'oidc:'
";
    let config: ApplyConfig = serde_saphyr::from_str(yaml).expect("config");
    assert!(config.enabled && config.impersonate);
    assert_eq!(
        config.clusters,
        [
            ClusterRef::Name("dev".into()),
            ClusterRef::Inline(Cluster {
                name: "qa".into(),
                kubeconfig: Some("/etc/kube/qa".into()),
                context: Some("admin".into()),
                in_cluster: false,
            })
        ],
        "a name, and (deprecated) a cluster written out"
    );
    assert_eq!(config.user_prefix, "oidc:");
    let typo: Result<ApplyConfig, _> = serde_saphyr::from_str("enabeld: true\n");
    assert!(typo.is_err(), "unknown keys are errors");
}
