//! Who to impersonate: the caller's Kubernetes user and groups as given, or
//! mapped from Backstage entity refs (`user:default/alice` → `alice`,
//! `group:default/team-a` → `team-a`), each with a configurable prefix.
use super::Error;
use crate::pb::Caller;

/// A Kubernetes user and its groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    /// `Impersonate-User`.
    pub user: String,
    /// `Impersonate-Group`, one header each.
    pub groups: Vec<String>,
}

/// The identity of `caller`. Explicit `kubernetes_user` wins (its groups
/// are taken as given, unprefixed); otherwise the user is mapped from
/// `user_entity_ref` and groups from the `group:` ownership refs.
pub(crate) fn for_caller(
    caller: Option<&Caller>,
    user_prefix: &str,
    group_prefix: &str,
) -> Result<Identity, Error> {
    let Some(caller) = caller else {
        return Err(Error::Identity {
            field: "render.caller".into(),
            message: "required when the sidecar impersonates callers".into(),
        });
    };
    if !caller.kubernetes_user.is_empty() {
        return Ok(Identity {
            user: caller.kubernetes_user.clone(),
            groups: caller.kubernetes_groups.clone(),
        });
    }
    let field = "render.caller.user_entity_ref";
    if caller.user_entity_ref.is_empty() {
        return Err(Error::Identity {
            field: field.into(),
            message:
                "required when the sidecar impersonates callers and `kubernetes_user` is empty"
                    .into(),
        });
    }
    let user = match entity_name(&caller.user_entity_ref, "user") {
        Some(name) => format!("{user_prefix}{name}"),
        None => {
            return Err(Error::Identity {
                field: field.into(),
                message: format!(
                    "`{}` is not a user entity ref like `user:default/alice`",
                    caller.user_entity_ref
                ),
            });
        }
    };
    let mut groups: Vec<String> = caller
        .ownership_entity_refs
        .iter()
        .filter(|r| r.starts_with("group:"))
        .filter_map(|r| entity_name(r, "group"))
        .map(|name| format!("{group_prefix}{name}"))
        .collect();
    groups.extend(caller.kubernetes_groups.iter().cloned());
    groups.sort();
    groups.dedup();
    Ok(Identity { user, groups })
}

/// The name of an entity ref `[kind:][namespace/]name` of `kind`; `None`
/// when the ref names another kind or is empty.
fn entity_name<'a>(entity_ref: &'a str, kind: &str) -> Option<&'a str> {
    let rest = match entity_ref.split_once(':') {
        Some((k, rest)) if k.eq_ignore_ascii_case(kind) => rest,
        Some(_) => return None,
        None => entity_ref,
    };
    let name = rest.rsplit_once('/').map_or(rest, |(_, n)| n);
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_callers_to_identities() {
        struct Case {
            reason: &'static str,
            caller: Option<Caller>,
            want: Result<(&'static str, Vec<&'static str>), &'static str>,
        }
        let caller = |user: &str, owners: &[&str]| Caller {
            user_entity_ref: user.into(),
            ownership_entity_refs: owners.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        let cases = [
            Case {
                reason: "user and group refs map to prefixed names",
                caller: Some(caller(
                    "user:default/alice",
                    &["user:default/alice", "group:default/team-a"],
                )),
                want: Ok(("oidc:alice", vec!["g:team-a"])),
            },
            Case {
                reason: "a ref without kind or namespace is a user name",
                caller: Some(caller("alice", &[])),
                want: Ok(("oidc:alice", vec![])),
            },
            Case {
                reason: "explicit kubernetes_user wins, groups as given",
                caller: Some(Caller {
                    user_entity_ref: "user:default/alice".into(),
                    kubernetes_user: "alice@example.org".into(),
                    kubernetes_groups: vec!["devs".into()],
                    ..Default::default()
                }),
                want: Ok(("alice@example.org", vec!["devs"])),
            },
            Case {
                reason: "a group ref is not a user",
                caller: Some(caller("group:default/team-a", &[])),
                want: Err("render.caller.user_entity_ref: `group:default/team-a` is not a user"),
            },
            Case {
                reason: "no caller at all",
                caller: None,
                want: Err("render.caller: required"),
            },
            Case {
                reason: "an empty user ref",
                caller: Some(caller("", &[])),
                want: Err("render.caller.user_entity_ref: required"),
            },
        ];
        for c in cases {
            let got = for_caller(c.caller.as_ref(), "oidc:", "g:");
            match (got, c.want) {
                (Ok(id), Ok((user, groups))) => {
                    assert_eq!(id.user, user, "{}", c.reason);
                    assert_eq!(id.groups, groups, "{}", c.reason);
                }
                (Err(e), Err(want)) => {
                    assert!(e.to_string().starts_with(want), "{}: {e}", c.reason)
                }
                (got, want) => panic!("{}: got {got:?}, want {want:?}", c.reason),
            }
        }
    }
}
