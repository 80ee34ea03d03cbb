//! The single place where errors become gRPC statuses. Bad input is
//! `INVALID_ARGUMENT` with `google.rpc.BadRequest` field violations, so a
//! Backstage form can put each message next to its field.
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::{Error, Violation};

/// Largest status message we send. Messages travel as HTTP/2 headers; a
/// header bigger than the peer's limit (16 KiB in most clients) makes it
/// drop the whole connection, failing every call that shares it.
const MAX_MESSAGE_BYTES: usize = 1024;
/// Budget for all field violations of one status, for the same reason:
/// with the message (sent twice: `grpc-message` and inside the
/// base64-encoded details) the whole status stays under the 8 KiB of
/// metadata grpc-core clients accept by default.
const MAX_DETAILS_BYTES: usize = 2 * 1024;
/// What each violation adds to the encoded details besides its text
/// (protobuf tags and lengths).
const VIOLATION_OVERHEAD_BYTES: usize = 8;

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        let message = bounded(err.to_string(), MAX_MESSAGE_BYTES);
        match err {
            Error::InvalidRequest { violations } => bad_request(&message, &violations),
            Error::ReadDocument { field, source } => {
                // Name the setting, so an operator knows what to raise.
                let message = match setting(&source) {
                    Some(s) => bounded(format!("{message}: {s}"), MAX_MESSAGE_BYTES),
                    None => message,
                };
                bad_request(
                    &message,
                    &[Violation {
                        field,
                        description: source.to_string(),
                    }],
                )
            }
            Error::Convert { field, source } => {
                let path = match &source {
                    osp::convert::Error::ReadDefinition(e) => e.path().to_string(),
                };
                let field = if path.is_empty() {
                    field
                } else {
                    format!("{field}.{path}")
                };
                bad_request(
                    &message,
                    &[Violation {
                        field,
                        description: source.to_string(),
                    }],
                )
            }
            Error::Claim(osp::claim::Error::Validation(found)) => {
                let violations: Vec<Violation> = found
                    .into_iter()
                    .map(|v| Violation {
                        field: v.field,
                        description: v.description,
                    })
                    .collect();
                bad_request(&message, &violations)
            }
            Error::Claim(osp::claim::Error::TargetPath { .. }) => {
                Status::failed_precondition(message)
            }
            Error::NotFound { .. } => Status::not_found(message),
            Error::Unavailable(_) => Status::unavailable(message),
            Error::FailedPrecondition(_) => Status::failed_precondition(message),
            Error::SnapshotExpired { .. } => Status::aborted(message),
            Error::Unimplemented(_) => Status::unimplemented(message),
            Error::GitHub(e) => forge(e.failure(), &message),
            Error::GitLab(e) => forge(e.failure(), &message),
            Error::LocalGit(e) => local_git(e, &message),
            Error::Apply(e) => apply(e, &message),
        }
    }
}

/// The configuration setting behind a document limit error.
fn setting(err: &osp::document::Error) -> Option<&'static str> {
    use osp::document::Error as D;
    Some(match err {
        D::TooLarge { .. } => {
            "raise `--max-document-bytes` (`OSP_MAX_DOCUMENT_BYTES`, `limits.maxDocumentBytes`)"
        }
        D::TooDeep { .. } => {
            "raise `--max-document-depth` (`OSP_MAX_DOCUMENT_DEPTH`, `limits.maxDocumentDepth`)"
        }
        D::TooManyNodes { .. } => {
            "raise `--max-document-nodes` (`OSP_MAX_DOCUMENT_NODES`, `limits.maxDocumentNodes`)"
        }
        D::TooManyAliases { .. } => {
            "raise `--max-document-aliases` (`OSP_MAX_DOCUMENT_ALIASES`, `limits.maxDocumentAliases`)"
        }
        D::Parse(_) => return None,
    })
}

/// Rewrites tonic's answer to a request message over the size limit
/// (`OUT_OF_RANGE`, "decoded message length too large") to
/// `RESOURCE_EXHAUSTED`, as gRPC's reference servers answer, naming the
/// setting to raise. Installed as a response map in front of every service.
pub(crate) fn oversized<B>(mut response: http::Response<B>) -> http::Response<B> {
    // Cheap check first: this runs on every response.
    if response.headers().get("grpc-status").map(|v| v.as_bytes()) != Some(b"11") {
        return response;
    }
    let Some(status) = Status::from_header_map(response.headers()) else {
        return response;
    };
    if !status
        .message()
        .contains("decoded message length too large")
    {
        return response;
    }
    let numbers: Vec<&str> = status
        .message()
        .split(|c: char| !c.is_ascii_digit())
        .filter(|n| !n.is_empty())
        .collect();
    let over = match numbers.as_slice() {
        [size, limit] => {
            format!("request message is `{size}` bytes, over the limit of `{limit}` bytes")
        }
        _ => "request message is over the size limit".to_string(),
    };
    let message =
        format!("{over}: raise `--max-message-bytes` (`OSP_MAX_MESSAGE_BYTES`, `maxMessageBytes`)");
    let headers = response.headers_mut();
    for h in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        headers.remove(h);
    }
    if Status::resource_exhausted(message)
        .add_header(headers)
        .is_err()
    {
        // Only fails on header encoding; keep a plain status.
        headers.insert("grpc-status", http::HeaderValue::from_static("8"));
    }
    response
}

/// Rewrites tonic's answer to a request that is not valid protobuf
/// (`INTERNAL` "failed to decode Protobuf message: ...", e.g. a string
/// field holding invalid UTF-8) to `INVALID_ARGUMENT` with a field
/// violation naming the field: the request is the problem, and retrying it
/// cannot succeed. Installed as a response map in front of every service.
pub(crate) fn undecodable<B>(mut response: http::Response<B>) -> http::Response<B> {
    // Cheap check first: this runs on every response.
    if response.headers().get("grpc-status").map(|v| v.as_bytes()) != Some(b"13") {
        return response;
    }
    let Some(status) = Status::from_header_map(response.headers()) else {
        return response;
    };
    let Some(rest) = status
        .message()
        .strip_prefix("failed to decode Protobuf message: ")
    else {
        return response;
    };
    let (field, reason) = decode_path(rest);
    let violation = Violation {
        field: field.clone(),
        description: format!("cannot be decoded: {reason}"),
    };
    let message = bounded(
        format!("request is not a valid protobuf message: `{field}`: {reason}"),
        MAX_MESSAGE_BYTES,
    );
    let headers = response.headers_mut();
    for h in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        headers.remove(h);
    }
    if bad_request(&message, &[violation])
        .add_header(headers)
        .is_err()
    {
        headers.insert("grpc-status", http::HeaderValue::from_static("3"));
    }
    response
}

/// prost's error text after its prefix, `Inner.field: Outer.field: reason`
/// (innermost first), as the field path from the request (`outer.inner`)
/// and the reason.
fn decode_path(rest: &str) -> (String, &str) {
    let mut fields = Vec::new();
    let mut reason = rest;
    while let Some((head, tail)) = reason.split_once(": ") {
        let Some((message, field)) = head.split_once('.') else {
            break;
        };
        let ident =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ident(message) || !ident(field) {
            break;
        }
        fields.push(field);
        reason = tail;
    }
    fields.reverse();
    let field = if fields.is_empty() {
        "request".to_string()
    } else {
        fields.join(".")
    };
    (field, reason)
}

/// Forge failures (GitHub, GitLab): the status the forge answered, in gRPC
/// terms. Conflicts and exhausted rate limits carry `google.rpc.RetryInfo`.
fn forge(failure: crate::forge::Failure, message: &str) -> Status {
    use crate::forge::Failure as F;
    match failure {
        F::Repository => bad_request(
            message,
            &[Violation {
                field: "repository".into(),
                description: message.into(),
            }],
        ),
        F::Plan => Status::invalid_argument(message),
        F::Precondition => Status::failed_precondition(message),
        F::Unauthenticated => Status::unauthenticated(message),
        F::PermissionDenied => Status::permission_denied(message),
        F::NotFound => Status::not_found(message),
        F::Conflict => retry(Code::Aborted, message, 1),
        F::RateLimited(secs) => retry(Code::Unavailable, message, secs),
        F::Unavailable => Status::unavailable(message),
    }
}

fn local_git(err: crate::gitlocal::Error, message: &str) -> Status {
    use crate::gitlocal::Error as L;
    match err {
        L::ResolveBase { .. } => Status::not_found(message),
        L::Plan(osp::publish::Error::UpdateKustomization(_))
        | L::OpenRepository { .. }
        | L::ReadFile { .. }
        | L::PathConflict { .. } => Status::failed_precondition(message),
        L::Plan(_) => Status::invalid_argument(message),
        L::UpdateBranch { .. } => retry(Code::Aborted, message, 1),
        L::WriteCommit { .. } => Status::internal(message),
    }
}

/// Apply failures: refusals before the cluster, and the API server's
/// answer in gRPC terms. Never `INTERNAL`.
fn apply(err: crate::apply::Error, message: &str) -> Status {
    use crate::apply::Error as A;
    match err {
        A::Disabled | A::LoadConfig(_) | A::MissingNamespace { .. } => {
            Status::failed_precondition(message)
        }
        A::NotEstablished { .. } | A::FieldConflict { .. } => Status::failed_precondition(message),
        A::ChooseCluster { .. } | A::UnknownCluster { .. } => bad_request(
            message,
            &[Violation {
                field: "render.cluster".into(),
                description: message.into(),
            }],
        ),
        A::Identity { field, .. } => bad_request(
            message,
            &[Violation {
                field,
                description: message.into(),
            }],
        ),
        A::NamespaceNotAllowed { .. } | A::ClusterScopedNotAllowed { .. } | A::Forbidden { .. } => {
            Status::permission_denied(message)
        }
        A::Unauthorized { .. } => Status::failed_precondition(message),
        A::Conflict { .. } => retry(Code::Aborted, message, 1),
        A::Invalid { causes, .. } => {
            let causes = if causes.is_empty() {
                vec![Violation {
                    field: "manifest".into(),
                    description: message.into(),
                }]
            } else {
                causes
            };
            bad_request(message, &causes)
        }
        A::Unreachable { .. } => Status::unavailable(message),
    }
}

/// How loudly a call that ended with `code` is logged. A caller's mistake
/// (bad input, an unknown name, a lost race, a cancelled call) is not a
/// server error: logged at ERROR, a flood of bad requests wrote 45 MB of log
/// lines in a minute. Only faults of the server itself are errors.
pub(crate) fn log_level(code: Code) -> tracing::Level {
    use tracing::Level;
    match code {
        Code::Ok
        | Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::OutOfRange
        | Code::FailedPrecondition
        | Code::Aborted
        | Code::Cancelled
        | Code::Unimplemented => Level::DEBUG,
        // Worth seeing at the default level: refused callers, load shedding.
        Code::Unauthenticated | Code::PermissionDenied | Code::ResourceExhausted => Level::INFO,
        // Something the server depends on is slow or down.
        Code::DeadlineExceeded | Code::Unavailable => Level::WARN,
        Code::Unknown | Code::Internal | Code::DataLoss => Level::ERROR,
    }
}

/// Logs a failed call (the trace layer's `on_failure`) at [`log_level`];
/// a transport error, which has no code, is an error.
pub(crate) fn log_failure(
    class: tower_http::classify::GrpcFailureClass,
    latency: std::time::Duration,
    _span: &tracing::Span,
) {
    use tower_http::classify::GrpcFailureClass as F;
    let level = match &class {
        F::Status(status) => log_level(Code::from_i32(status.code_raw())),
        _ => tracing::Level::ERROR,
    };
    let latency_ms = latency.as_millis() as u64;
    match level {
        tracing::Level::ERROR => {
            tracing::error!(classification = %class, latency_ms, "response failed")
        }
        tracing::Level::WARN => {
            tracing::warn!(classification = %class, latency_ms, "response failed")
        }
        tracing::Level::INFO => {
            tracing::info!(classification = %class, latency_ms, "response failed")
        }
        _ => tracing::debug!(classification = %class, latency_ms, "response failed"),
    }
}

fn retry(code: Code, message: &str, after_secs: u64) -> Status {
    let details = ErrorDetails::with_retry_info(Some(std::time::Duration::from_secs(after_secs)));
    Status::with_error_details(code, message, details)
}

fn bad_request(message: &str, violations: &[Violation]) -> Status {
    let mut details = ErrorDetails::new();
    let mut budget = MAX_DETAILS_BYTES;
    for (i, v) in violations.iter().enumerate() {
        let field = bounded(v.field.clone(), 256);
        let description = bounded(v.description.clone(), 512);
        let size = field.len() + description.len() + VIOLATION_OVERHEAD_BYTES;
        if size > budget {
            details.add_bad_request_violation(
                "",
                format!("`{}` more violation(s) not shown", violations.len() - i),
            );
            break;
        }
        budget -= size;
        details.add_bad_request_violation(field, description);
    }
    Status::with_error_details(Code::InvalidArgument, message, details)
}

/// `s` cut to at most `max` bytes on a character boundary, marked when cut.
fn bounded(mut s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    let mut end = max.saturating_sub(3);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s.push_str("...");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_mistakes_are_not_logged_as_errors() {
        use tracing::Level;
        struct Case {
            reason: &'static str,
            codes: &'static [Code],
            want: Level,
        }
        let cases = [
            Case {
                reason: "bad input, unknown names, lost races and cancelled calls are the caller's",
                codes: &[
                    Code::InvalidArgument,
                    Code::NotFound,
                    Code::AlreadyExists,
                    Code::OutOfRange,
                    Code::FailedPrecondition,
                    Code::Aborted,
                    Code::Cancelled,
                    Code::Unimplemented,
                ],
                want: Level::DEBUG,
            },
            Case {
                reason: "refused callers and load shedding are visible at the default level",
                codes: &[
                    Code::Unauthenticated,
                    Code::PermissionDenied,
                    Code::ResourceExhausted,
                ],
                want: Level::INFO,
            },
            Case {
                reason: "a dependency that is slow or down is a warning",
                codes: &[Code::DeadlineExceeded, Code::Unavailable],
                want: Level::WARN,
            },
            Case {
                reason: "only the server's own faults are errors",
                codes: &[Code::Internal, Code::Unknown, Code::DataLoss],
                want: Level::ERROR,
            },
        ];
        for c in cases {
            for &code in c.codes {
                assert_eq!(log_level(code), c.want, "{}: {code:?}", c.reason);
            }
        }
    }

    #[test]
    fn undecodable_requests_are_invalid_argument_with_the_field() {
        struct Case {
            reason: &'static str,
            status: Status,
            want_code: Code,
            want_field: Option<&'static str>,
        }
        let cases = [
            Case {
                reason: "invalid UTF-8 in inline_yaml (prost names the oneof)",
                status: Status::internal(
                    "failed to decode Protobuf message: DefinitionSource.source: ConvertDefinitionRequest.definition: invalid string value: data is not UTF-8 encoded",
                ),
                want_code: Code::InvalidArgument,
                want_field: Some("definition.source"),
            },
            Case {
                reason: "a top-level field",
                status: Status::internal(
                    "failed to decode Protobuf message: RenderClaimRequest.name: invalid string value: data is not UTF-8 encoded",
                ),
                want_code: Code::InvalidArgument,
                want_field: Some("name"),
            },
            Case {
                reason: "no path: the request as a whole",
                status: Status::internal("failed to decode Protobuf message: invalid varint"),
                want_code: Code::InvalidArgument,
                want_field: Some("request"),
            },
            Case {
                reason: "other internal errors are the server's and stay INTERNAL",
                status: Status::internal("something broke"),
                want_code: Code::Internal,
                want_field: None,
            },
        ];
        for c in cases {
            let response = undecodable(c.status.into_http::<tonic::body::Body>());
            let got = Status::from_header_map(response.headers()).expect("a status");
            assert_eq!(got.code(), c.want_code, "{}: {}", c.reason, got.message());
            let fields: Vec<String> = got
                .get_details_bad_request()
                .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
                .unwrap_or_default();
            assert_eq!(
                fields.first().map(String::as_str),
                c.want_field,
                "{}: {}",
                c.reason,
                got.message()
            );
        }
    }

    /// grpc-core (Python, C++, Ruby clients) refuses trailers over 8 KiB by
    /// default (`grpc.max_metadata_size`), counting each entry as name +
    /// value + 32 bytes; a bigger status reached those callers as
    /// RESOURCE_EXHAUSTED instead of INVALID_ARGUMENT.
    #[test]
    fn statuses_fit_grpc_cores_metadata_limit() {
        struct Case {
            reason: &'static str,
            violations: Vec<Violation>,
        }
        let many = |n: usize, field: &str, description: &str| {
            (0..n)
                .map(|i| Violation {
                    field: format!("spec.parameters.{field}{i}"),
                    description: description.to_string(),
                })
                .collect::<Vec<_>>()
        };
        let cases = [
            Case {
                reason: "thousands of short violations (the campaign's case)",
                violations: many(5000, "f", "is required"),
            },
            Case {
                reason: "long non-ASCII fields and descriptions (percent-encoded, base64)",
                violations: many(1000, &"é".repeat(500), &"ü€".repeat(500)),
            },
            Case {
                reason: "a few ordinary violations",
                violations: many(3, "size", "must be at least `1`"),
            },
        ];
        for c in cases {
            let shown = c.violations.len();
            let status = Status::from(Error::InvalidRequest {
                violations: c.violations,
            });
            let response = status.into_http::<tonic::body::Body>();
            let size: usize = response
                .headers()
                .iter()
                .map(|(k, v)| k.as_str().len() + v.len() + 32)
                .sum();
            eprintln!("{}: {size} bytes of metadata", c.reason);
            assert!(size <= 8 * 1024, "{}: {size} bytes of metadata", c.reason);
            let back = Status::from_header_map(response.headers()).expect("status");
            let details = back.get_error_details();
            let kept = details
                .bad_request()
                .map_or(0, |b| b.field_violations.len());
            assert!(kept > 0, "{}: violations are kept", c.reason);
            if shown <= 3 {
                assert_eq!(kept, shown, "{}: all shown", c.reason);
            }
        }
    }

    #[test]
    fn huge_errors_stay_small_enough_for_headers() {
        let long = "é".repeat(100_000);
        let violations = (0..1000)
            .map(|i| Violation {
                field: format!("spec.f{i}.{long}"),
                description: long.clone(),
            })
            .collect();
        let status = Status::from(Error::InvalidRequest { violations });
        assert!(
            status.message().len() <= MAX_MESSAGE_BYTES,
            "message is cut"
        );
        let bad = status.get_error_details();
        let bad = bad.bad_request().expect("bad request details");
        let size: usize = bad
            .field_violations
            .iter()
            .map(|v| v.field.len() + v.description.len())
            .sum();
        assert!(
            size <= MAX_DETAILS_BYTES + 64,
            "details are bounded: {size}"
        );
        let last = bad.field_violations.last().expect("a violation");
        assert!(last.description.contains("more violation(s) not shown"));
    }

    #[test]
    fn oversized_requests_are_resource_exhausted() {
        struct Case {
            reason: &'static str,
            status: Status,
            want: Code,
            message: &'static str,
        }
        let cases = [
            Case {
                reason: "tonic's decode limit becomes RESOURCE_EXHAUSTED naming the setting",
                status: Status::out_of_range(
                    "Error, decoded message length too large: found 2097167 bytes, the limit is: 1048576 bytes",
                ),
                want: Code::ResourceExhausted,
                message: "request message is `2097167` bytes, over the limit of `1048576` bytes: raise `--max-message-bytes` (`OSP_MAX_MESSAGE_BYTES`, `maxMessageBytes`)",
            },
            Case {
                reason: "other OUT_OF_RANGE answers are kept",
                status: Status::out_of_range("page token past the end"),
                want: Code::OutOfRange,
                message: "page token past the end",
            },
            Case {
                reason: "other codes are kept",
                status: Status::invalid_argument("decoded message length too large"),
                want: Code::InvalidArgument,
                message: "decoded message length too large",
            },
        ];
        for c in cases {
            let response = oversized(c.status.into_http::<()>());
            let got = Status::from_header_map(response.headers()).expect("a status");
            assert_eq!(got.code(), c.want, "{}", c.reason);
            assert_eq!(got.message(), c.message, "{}", c.reason);
        }
        let ok = oversized(http::Response::new(()));
        assert!(ok.headers().is_empty(), "plain responses pass untouched");
    }

    #[test]
    fn document_limits_name_their_setting() {
        let status = Status::from(Error::ReadDocument {
            field: "definition.inline_yaml".into(),
            source: osp::document::Error::TooManyNodes { limit: 20 },
        });
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "definition.inline_yaml: document has more than `20` nodes: raise `--max-document-nodes` (`OSP_MAX_DOCUMENT_NODES`, `limits.maxDocumentNodes`)"
        );
    }

    #[test]
    fn invalid_requests_carry_field_violations() {
        let status = Status::from(Error::invalid("name", "must not be empty"));
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let bad = details.bad_request().expect("bad request details");
        assert_eq!(bad.field_violations[0].field, "name");
        assert_eq!(bad.field_violations[0].description, "must not be empty");
    }

    #[test]
    fn a_cel_violation_reads_once() {
        let xrd = serde_json::json!({
            "apiVersion": "apiextensions.crossplane.io/v2",
            "kind": "CompositeResourceDefinition",
            "metadata": {"name": "xapps.example.org"},
            "spec": {"group": "example.org", "scope": "Namespaced",
                "names": {"kind": "XApp", "plural": "xapps"},
                "versions": [{"name": "v1", "served": true, "referenceable": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {
                        "type": "object", "properties": {"parameters": {
                            "type": "object",
                            "properties": {"size": {"type": "string"}, "replicas": {"type": "integer"}},
                            "x-kubernetes-validations": [{
                                "rule": "self.size != 'small' || self.replicas <= 5",
                                "message": "small apps run at most 5 replicas"}]}}}}}}}]}
        });
        let def = osp::definition::for_document(&xrd).expect("valid XRD");
        let input = osp::claim::ClaimInput {
            name: "shop".into(),
            namespace: Some("team-a".into()),
            values: serde_json::json!({"parameters": {"size": "small", "replicas": 9}}),
            ..Default::default()
        };
        let err = osp::claim::for_claim(&def, &input).expect_err("9 replicas are too many");
        let status = Status::from(Error::Claim(err));
        let details = status.get_error_details();
        let violations: Vec<String> = details
            .bad_request()
            .map(|b| {
                b.field_violations
                    .iter()
                    .map(|v| format!("{}: {}", v.field, v.description))
                    .collect()
            })
            .unwrap_or_default();
        let text = "small apps run at most 5 replicas";
        assert_eq!(
            status.message().matches(text).count(),
            1,
            "the message names the violation once: {}",
            status.message()
        );
        assert_eq!(
            violations.iter().filter(|v| v.contains(text)).count(),
            1,
            "one field violation: {violations:?}"
        );
        insta::assert_yaml_snapshot!((status.code() as i32, status.message(), violations));
    }

    #[test]
    fn apply_errors_are_never_internal() {
        use crate::apply::Error as A;
        struct Case {
            reason: &'static str,
            err: A,
            want: Code,
            fields: Vec<&'static str>,
        }
        let s = |v: &str| v.to_string();
        let cases = [
            Case {
                reason: "the server's causes become field violations",
                err: A::Invalid {
                    cluster: s("dev"),
                    name: s("orders"),
                    message: s("denied by policy"),
                    causes: vec![Violation {
                        field: s("spec.parameters.size"),
                        description: s("too big"),
                    }],
                },
                want: Code::InvalidArgument,
                fields: vec!["spec.parameters.size"],
            },
            Case {
                reason: "invalid without causes still names a field",
                err: A::Invalid {
                    cluster: s("dev"),
                    name: s("orders"),
                    message: s("admission webhook denied"),
                    causes: vec![],
                },
                want: Code::InvalidArgument,
                fields: vec!["manifest"],
            },
            Case {
                reason: "a plain conflict can be retried",
                err: A::Conflict {
                    cluster: s("dev"),
                    name: s("orders"),
                    message: s("modified"),
                },
                want: Code::Aborted,
                fields: vec![],
            },
            Case {
                reason: "a field manager conflict needs a person",
                err: A::FieldConflict {
                    cluster: s("dev"),
                    name: s("orders"),
                    message: s("conflict with kubectl"),
                },
                want: Code::FailedPrecondition,
                fields: vec![],
            },
            Case {
                reason: "RBAC denial",
                err: A::Forbidden {
                    cluster: s("dev"),
                    message: s("alice cannot patch"),
                },
                want: Code::PermissionDenied,
                fields: vec![],
            },
        ];
        for c in cases {
            let status = Status::from(Error::Apply(c.err));
            assert_eq!(status.code(), c.want, "{}", c.reason);
            let details = status.get_error_details();
            let got: Vec<String> = details
                .bad_request()
                .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
                .unwrap_or_default();
            assert_eq!(got, c.fields, "{}", c.reason);
        }
    }
}
