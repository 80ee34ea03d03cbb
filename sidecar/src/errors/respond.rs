//! The single place where errors become gRPC statuses. Bad input is
//! `INVALID_ARGUMENT` with `google.rpc.BadRequest` field violations, so a
//! Backstage form can put each message next to its field.
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::{Error, Violation};

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        let message = err.to_string();
        match err {
            Error::InvalidRequest { violations } => bad_request(&message, &violations),
            Error::ReadDocument { field, source } => bad_request(
                &message,
                &[Violation {
                    field,
                    description: source.to_string(),
                }],
            ),
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
            Error::Unimplemented(_) => Status::unimplemented(message),
        }
    }
}

fn bad_request(message: &str, violations: &[Violation]) -> Status {
    let mut details = ErrorDetails::new();
    for v in violations {
        details.add_bad_request_violation(v.field.clone(), v.description.clone());
    }
    Status::with_error_details(Code::InvalidArgument, message, details)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_requests_carry_field_violations() {
        let status = Status::from(Error::invalid("name", "must not be empty"));
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let bad = details.bad_request().expect("bad request details");
        assert_eq!(bad.field_violations[0].field, "name");
        assert_eq!(bad.field_violations[0].description, "must not be empty");
    }
}
