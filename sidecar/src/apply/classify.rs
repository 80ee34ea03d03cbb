//! What a kube client error means for the caller: the API server's status
//! code and reason become an [`Error`] variant (never an internal error).
use kube::core::Status;

use super::Error;
use crate::violation::Violation;

/// Where the failed call went.
#[derive(Debug, Clone)]
pub(crate) struct Context<'a> {
    /// Cluster name.
    pub cluster: &'a str,
    /// Definition of the kind.
    pub definition: &'a osp::definition::Definition,
    /// Object name.
    pub name: &'a str,
    /// Object namespace, if namespaced.
    pub namespace: Option<&'a str>,
}

/// Classifies a client error.
pub(crate) fn for_kube(err: kube::Error, ctx: &Context<'_>) -> Error {
    match err {
        kube::Error::Api(status) => for_status(&status, ctx),
        other => Error::Unreachable {
            cluster: ctx.cluster.into(),
            message: other.to_string(),
        },
    }
}

/// Classifies an API server status.
pub(crate) fn for_status(status: &Status, ctx: &Context<'_>) -> Error {
    let cluster = ctx.cluster.to_string();
    let name = ctx.name.to_string();
    let message = status.message.clone();
    let causes = status
        .details
        .as_ref()
        .map(|d| d.causes.as_slice())
        .unwrap_or_default();
    match status.code {
        409 if causes.iter().any(|c| c.reason == "FieldManagerConflict") => Error::FieldConflict {
            cluster,
            name,
            message,
        },
        409 => Error::Conflict {
            cluster,
            name,
            message,
        },
        403 => Error::Forbidden { cluster, message },
        401 => Error::Unauthorized { cluster, message },
        400 | 422 => Error::Invalid {
            cluster,
            name,
            causes: causes
                .iter()
                .map(|c| Violation {
                    field: if c.field.is_empty() {
                        "manifest".into()
                    } else {
                        c.field.clone()
                    },
                    description: c.message.clone(),
                })
                .collect(),
            message,
        },
        404 if status
            .details
            .as_ref()
            .is_some_and(|d| d.kind == "namespaces") =>
        {
            Error::MissingNamespace {
                cluster,
                namespace: ctx.namespace.unwrap_or_default().into(),
            }
        }
        404 => Error::NotEstablished {
            cluster,
            api_version: ctx.definition.api_version(),
            kind: ctx.definition.target().kind.clone(),
            xrd: ctx.definition.name.clone(),
        },
        _ => Error::Unreachable {
            cluster,
            message: format!("{} {}: {message}", status.code, status.reason),
        },
    }
}

#[cfg(test)]
mod tests {
    use kube::core::response::{StatusCause, StatusDetails};

    use super::*;

    fn status(code: u16, reason: &str, kind: &str, causes: &[(&str, &str)]) -> Status {
        Status {
            code,
            reason: reason.into(),
            message: format!("server says {code}"),
            details: Some(StatusDetails {
                name: String::new(),
                group: String::new(),
                uid: String::new(),
                retry_after_seconds: 0,
                kind: kind.into(),
                causes: causes
                    .iter()
                    .map(|(reason, field)| StatusCause {
                        reason: reason.to_string(),
                        message: format!("bad {field}"),
                        field: field.to_string(),
                    })
                    .collect(),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn classifies_api_server_statuses() {
        struct Case {
            reason: &'static str,
            status: Status,
            want: &'static str,
        }
        let cases = [
            Case {
                reason: "a field manager conflict is its own variant",
                status: status(409, "Conflict", "", &[("FieldManagerConflict", ".spec.x")]),
                want: "FieldConflict",
            },
            Case {
                reason: "another conflict",
                status: status(409, "Conflict", "", &[]),
                want: "Conflict",
            },
            Case {
                reason: "RBAC denial",
                status: status(403, "Forbidden", "", &[]),
                want: "Forbidden",
            },
            Case {
                reason: "invalid with causes",
                status: status(422, "Invalid", "", &[("FieldValueInvalid", "spec.a")]),
                want: "Invalid",
            },
            Case {
                reason: "missing namespace",
                status: status(404, "NotFound", "namespaces", &[]),
                want: "MissingNamespace",
            },
            Case {
                reason: "kind not served",
                status: status(404, "NotFound", "", &[]),
                want: "NotEstablished",
            },
            Case {
                reason: "server error",
                status: status(503, "ServiceUnavailable", "", &[]),
                want: "Unreachable",
            },
        ];
        let definition = crate::fixtures::xrd_v1().definition();
        let ctx = Context {
            cluster: "dev",
            definition: &definition,
            name: "orders",
            namespace: Some("team-a"),
        };
        for c in cases {
            let got = for_status(&c.status, &ctx);
            let variant = format!("{got:?}");
            assert!(
                variant.starts_with(&format!("{} {{", c.want)),
                "{}: {variant}",
                c.reason
            );
        }
        let invalid = for_status(
            &status(422, "Invalid", "", &[("FieldValueInvalid", "spec.a")]),
            &ctx,
        );
        let Error::Invalid { causes, .. } = invalid else {
            panic!("want Invalid");
        };
        assert_eq!(causes[0].field, "spec.a");
        let missing = for_status(&status(404, "NotFound", "", &[]), &ctx);
        insta::assert_snapshot!(missing.to_string(), @"`DB` (`example.org/v1`) is not served by cluster `dev`: the XRD `xdbs.example.org` is not established in that cluster");
    }
}
