//! `osp.v1.ClaimService`: render, validate and apply claims and XRs.
use osp::claim::{ClaimInput, CompositionChoice};
use tonic::{Request, Response, Status};

use super::{State, protobuf_struct, templates};
use crate::apply::{Applier, Target};
use crate::errors::Error;
use crate::pb::{self, claim_service_server::ClaimService};

/// The ClaimService implementation.
#[derive(Debug, Clone)]
pub(crate) struct Claims {
    state: State,
    applier: Applier,
    /// `publish.base`: suggested paths lie under it, so publishing accepts them.
    base: String,
}

impl Claims {
    /// A service over the shared state; apply stays disabled.
    pub(crate) fn new(state: State) -> Self {
        Self {
            state,
            applier: Applier::default(),
            base: String::new(),
        }
    }

    /// Suggests paths under `base` (the `publish.base` setting).
    pub(crate) fn with_base(mut self, base: &str) -> Self {
        self.base = base.to_string();
        self
    }

    /// Enables apply (and delete) as the `apply:` configuration says.
    pub(crate) fn with_applier(mut self, applier: Applier) -> Self {
        self.applier = applier;
        self
    }

    async fn apply(&self, req: &pb::ApplyClaimRequest) -> Result<pb::ApplyClaimResponse, Error> {
        // Refuse before rendering so a disabled sidecar says so first.
        if !self.applier.enabled() {
            return Err(crate::apply::Error::Disabled.into());
        }
        let render = req
            .render
            .as_ref()
            .ok_or_else(|| Error::invalid("render", "required"))?;
        let converted = templates::resolve(&self.state, render.definition.as_ref())?;
        let def = &converted.definition;
        let input = input(render, self.state.document_limits)?;
        let rendered = osp::claim::for_claim_with(def, &input, self.state.cel_limits)?;
        let applied = self
            .applier
            .apply(&Target {
                definition: def,
                manifest: &rendered.manifest,
                cluster: &render.cluster,
                caller: render.caller.as_ref(),
                dry_run: req.dry_run,
            })
            .await?;
        let uid = applied.object.metadata.uid.clone().unwrap_or_default();
        let object = serde_json::to_value(&applied.object)
            .map_err(|e| Error::Unavailable(format!("cannot encode the applied object: {e}")))?;
        Ok(pb::ApplyClaimResponse {
            applied: Some(protobuf_struct::manifest(&object)),
            cluster: applied.cluster,
            dry_run: req.dry_run,
            uid,
        })
    }

    async fn delete(&self, req: &pb::DeleteClaimRequest) -> Result<pb::DeleteClaimResponse, Error> {
        if !self.applier.enabled() {
            return Err(crate::apply::Error::Disabled.into());
        }
        for (field, v) in [
            ("api_version", &req.api_version),
            ("kind", &req.kind),
            ("name", &req.name),
        ] {
            if v.is_empty() {
                return Err(Error::invalid(field, "required"));
            }
        }
        let known = self.offering(&req.cluster, &req.api_version, &req.kind)?;
        let mut manifest = serde_json::json!({"metadata": {"name": req.name}});
        if !req.namespace.is_empty() {
            manifest["metadata"]["namespace"] = req.namespace.clone().into();
        }
        let (cluster, deleted) = self
            .applier
            .delete(&Target {
                definition: &known.converted.definition,
                manifest: &manifest,
                cluster: &req.cluster,
                caller: req.caller.as_ref(),
                dry_run: req.dry_run,
            })
            .await?;
        Ok(pb::DeleteClaimResponse {
            cluster,
            deleted,
            dry_run: req.dry_run,
        })
    }

    /// The definition whose users create `kind` of `api_version`'s group:
    /// as `cluster` serves it when it is watched, else as any source does.
    fn offering(
        &self,
        cluster: &str,
        api_version: &str,
        kind: &str,
    ) -> Result<crate::store::Known, Error> {
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        let offers = |k: &crate::store::Known| {
            let d = &k.converted.definition;
            d.group == group && d.target().kind == kind
        };
        let all = self.state.store.all();
        let in_cluster = all.iter().find(|k| k.cluster == cluster && offers(k));
        in_cluster
            .or_else(|| all.iter().find(|k| offers(k)))
            .cloned()
            .ok_or_else(|| Error::NotFound {
                what: "definition offering",
                name: format!("{api_version} {kind}"),
            })
    }

    fn render(&self, req: &pb::RenderClaimRequest) -> Result<pb::RenderClaimResponse, Error> {
        let (converted, source) =
            templates::resolve_with_source(&self.state, req.definition.as_ref())?;
        let def = &converted.definition;
        let mut input = input(req, self.state.document_limits)?;
        input.base = Some(self.base.clone());
        // The claim goes where its definition is served: the path and the
        // Resource ref name that cluster unless the caller chose one.
        if input.cluster.as_deref().is_none_or(str::is_empty) {
            input.cluster = source;
        }
        if let Some(caller) = &req.caller {
            tracing::info!(
                user = %caller.user_entity_ref,
                definition = %def.name,
                name = %input.name,
                "render claim"
            );
        }
        let rendered = osp::claim::for_claim_with(def, &input, self.state.cel_limits)?;
        Ok(pb::RenderClaimResponse {
            manifest: Some(protobuf_struct::manifest(&rendered.manifest)),
            path: rendered.path,
            api_version: def.api_version(),
            kind: def.target().kind.clone(),
            is_claim: def.is_claim(),
            idempotency_key: rendered.idempotency_key,
            entity_ref: rendered.entity_ref,
            warnings: rendered
                .warnings
                .into_iter()
                .map(|w| pb::Warning {
                    path: w.path,
                    message: w.message,
                })
                .collect(),
        })
    }
}

/// The core's input from a request. `values` wins over `values_json`;
/// either is held to the document limits.
pub(crate) fn input(
    req: &pb::RenderClaimRequest,
    limits: osp::document::Limits,
) -> Result<ClaimInput, Error> {
    let values = match (&req.values, req.values_json.trim()) {
        (Some(s), _) if !s.fields.is_empty() => {
            let values = protobuf_struct::try_from_struct(s).map_err(|e| {
                let protobuf_struct::Error::NonFinite { path, .. } = &e;
                Error::invalid(format!("values.{path}"), e.to_string())
            })?;
            osp::document::check(&values, limits).map_err(|source| Error::ReadDocument {
                field: "values".into(),
                source,
            })?;
            values
        }
        (_, "") => serde_json::Value::Null,
        (_, text) => osp::document::from_json(text, limits).map_err(|source| match source {
            osp::document::Error::Parse(message) => Error::invalid("values_json", message),
            source => Error::ReadDocument {
                field: "values_json".into(),
                source,
            },
        })?,
    };
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let choice = req.composition.clone().unwrap_or_default();
    Ok(ClaimInput {
        name: req.name.clone(),
        namespace: opt(&req.namespace),
        values,
        owner: opt(&req.owner),
        template_ref: opt(&req.template_ref),
        composition: CompositionChoice {
            composition_name: opt(&choice.composition_name),
            composition_selector: choice.composition_selector.into_iter().collect(),
            update_policy: opt(&choice.update_policy),
            connection_secret_name: opt(&choice.connection_secret_name),
            composite_delete_policy: opt(&choice.composite_delete_policy),
        },
        cluster: opt(&req.cluster),
        base: None,
        repo_url: opt(&req.repo_url),
        target_path: opt(&req.target_path),
    })
}

#[tonic::async_trait]
impl ClaimService for Claims {
    async fn render_claim(
        &self,
        request: Request<pb::RenderClaimRequest>,
    ) -> Result<Response<pb::RenderClaimResponse>, Status> {
        let this = self.clone();
        let req = request.into_inner();
        let size = prost::Message::encoded_len(&req);
        Ok(Response::new(
            super::cpu_sized(size, move || this.render(&req)).await?,
        ))
    }

    async fn apply_claim(
        &self,
        request: Request<pb::ApplyClaimRequest>,
    ) -> Result<Response<pb::ApplyClaimResponse>, Status> {
        Ok(Response::new(self.apply(request.get_ref()).await?))
    }

    async fn delete_claim(
        &self,
        request: Request<pb::DeleteClaimRequest>,
    ) -> Result<Response<pb::DeleteClaimResponse>, Status> {
        Ok(Response::new(self.delete(request.get_ref()).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;
    use tonic_types::StatusExt;

    const XRD: &str = crate::fixtures::XRD_V1_CLAIMABLE;

    fn request(values_json: &str) -> pb::RenderClaimRequest {
        pb::RenderClaimRequest {
            definition: Some(pb::DefinitionSource {
                source: Some(pb::definition_source::Source::InlineYaml(XRD.into())),
                cluster: String::new(),
            }),
            name: "orders".into(),
            namespace: "team-a".into(),
            values_json: values_json.into(),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn suggested_paths_follow_the_publish_base() {
        struct Case {
            reason: &'static str,
            base: &'static str,
            want: &'static str,
        }
        let cases = [
            Case {
                reason: "no base: the layout alone",
                base: "",
                want: "default/team-a/db/orders.yaml",
            },
            Case {
                reason: "the documented `publish.base: clusters` gets a path it accepts",
                base: "clusters",
                want: "clusters/default/team-a/db/orders.yaml",
            },
        ];
        for c in cases {
            let config = crate::service::publish::PublishConfig {
                base: c.base.into(),
                ..Default::default()
            };
            let svc = Claims::new(State::default()).with_base(&config.base);
            let got = svc
                .render_claim(Request::new(request(
                    r#"{"parameters": {"storageGB": 20}}"#,
                )))
                .await
                .expect(c.reason)
                .into_inner();
            assert_eq!(got.path, c.want, "{}", c.reason);
            let publisher =
                crate::service::publish::Publisher::new(&config).expect("a valid config");
            let request = osp::publish::Request {
                changes: vec![osp::publish::Change {
                    path: got.path.clone(),
                    content: Some("x: 1\n".into()),
                }],
                idempotency_key: got.idempotency_key.clone(),
                ..Default::default()
            };
            assert!(
                osp::publish::for_plan(&request, publisher.layout()).is_ok(),
                "{}: `{}` is inside base `{}`",
                c.reason,
                got.path,
                c.base
            );
        }
    }

    #[tokio::test]
    async fn a_stored_definition_renders_for_its_own_cluster() {
        struct Case {
            reason: &'static str,
            cluster: &'static str,
            want_path: &'static str,
            want_ref: &'static str,
        }
        let cases = [
            Case {
                reason: "no cluster asked: the one serving the definition",
                cluster: "",
                want_path: "prod/team-a/db/orders.yaml",
                want_ref: "resource:default/orders.db.team-a.prod",
            },
            Case {
                reason: "the caller's choice wins",
                cluster: "staging",
                want_path: "staging/team-a/db/orders.yaml",
                want_ref: "resource:default/orders.db.team-a.staging",
            },
        ];
        let state = State::default();
        let doc = osp::document::from_yaml(XRD, state.document_limits).expect("parses");
        state.store.replace_cluster(
            "prod",
            vec![crate::store::Known {
                cluster: "prod".into(),
                file: None,
                converted: std::sync::Arc::new(osp::convert::for_entities(&doc).expect("converts")),
            }],
        );
        let svc = Claims::new(state);
        for c in cases {
            let mut req = request(r#"{"parameters": {"storageGB": 20}}"#);
            req.definition = Some(pb::DefinitionSource {
                source: Some(pb::definition_source::Source::Name(
                    "xdbs.example.org".into(),
                )),
                cluster: String::new(),
            });
            req.cluster = c.cluster.into();
            let got = svc
                .render_claim(Request::new(req))
                .await
                .expect(c.reason)
                .into_inner();
            assert_eq!(got.path, c.want_path, "{}", c.reason);
            assert_eq!(got.entity_ref, c.want_ref, "{}", c.reason);
        }
    }

    #[tokio::test]
    async fn a_definition_is_looked_up_in_the_cluster_the_source_names() {
        struct Case {
            reason: &'static str,
            source_cluster: &'static str,
            want: Result<&'static str, &'static str>,
        }
        let cases = [
            Case {
                reason: "no cluster named: the first that has it",
                source_cluster: "",
                want: Ok("prod/team-a/db/orders.yaml"),
            },
            Case {
                reason: "a named cluster: its own copy, and the claim goes there",
                source_cluster: "staging",
                want: Ok("staging/team-a/db/orders.yaml"),
            },
            Case {
                reason: "a cluster that does not serve it: not found, naming both",
                source_cluster: "dev",
                want: Err("definition `xdbs.example.org` in cluster `dev` not found"),
            },
        ];
        let state = State::default();
        for cluster in ["prod", "staging"] {
            state.store.replace_cluster(
                cluster,
                vec![crate::store::Known {
                    cluster: cluster.into(),
                    file: None,
                    converted: crate::fixtures::xrd_v1().converted(),
                }],
            );
        }
        let svc = Claims::new(state);
        for c in cases {
            let mut req = request(r#"{"parameters": {"storageGB": 20}}"#);
            req.definition = Some(pb::DefinitionSource {
                source: Some(pb::definition_source::Source::Name(
                    "xdbs.example.org".into(),
                )),
                cluster: c.source_cluster.into(),
            });
            let got = svc.render_claim(Request::new(req)).await;
            match (got, c.want) {
                (Ok(r), Ok(path)) => assert_eq!(r.into_inner().path, path, "{}", c.reason),
                (Err(e), Err(message)) => {
                    assert_eq!(e.code(), Code::NotFound, "{}", c.reason);
                    assert_eq!(e.message(), message, "{}", c.reason);
                }
                (got, want) => panic!("{}: got {got:?}, want {want:?}", c.reason),
            }
        }
    }

    #[tokio::test]
    async fn renders_and_rejects_with_field_violations() {
        struct Case {
            reason: &'static str,
            values_json: &'static str,
            want: Result<&'static str, (Code, Vec<&'static str>)>,
        }
        let cases = [
            Case {
                reason: "a valid claim renders with its path",
                values_json: r#"{"parameters": {"storageGB": 20}}"#,
                want: Ok("default/team-a/db/orders.yaml"),
            },
            Case {
                reason: "violations come back as bad request field violations",
                values_json: r#"{"parameters": {"storageGB": 200}, "bogus": 1}"#,
                want: Err((
                    Code::InvalidArgument,
                    vec!["spec.bogus", "spec.parameters.storageGB"],
                )),
            },
            Case {
                reason: "unreadable values_json names the field",
                values_json: "{",
                want: Err((Code::InvalidArgument, vec!["values_json"])),
            },
        ];
        let svc = Claims::new(State::default());
        for c in cases {
            let got = svc.render_claim(Request::new(request(c.values_json))).await;
            match (got, c.want) {
                (Ok(r), Ok(path)) => {
                    let r = r.into_inner();
                    assert_eq!(r.path, path, "{}", c.reason);
                    assert!(r.is_claim, "{}", c.reason);
                    assert_eq!(r.kind, "DB", "{}", c.reason);
                    assert_eq!(
                        r.idempotency_key, "claim/default/team-a/db/orders",
                        "{}",
                        c.reason
                    );
                    assert_eq!(
                        r.entity_ref, "resource:default/orders.db.team-a.default",
                        "{}: the Resource the catalog will list",
                        c.reason
                    );
                }
                (Err(status), Err((code, fields))) => {
                    assert_eq!(status.code(), code, "{}", c.reason);
                    let details = status.get_error_details();
                    let bad = details.bad_request().expect("bad request details");
                    let got: Vec<&str> = bad
                        .field_violations
                        .iter()
                        .map(|v| v.field.as_str())
                        .collect();
                    assert_eq!(got, fields, "{}", c.reason);
                }
                (got, want) => panic!("{}: got {got:?}, want {want:?}", c.reason),
            }
        }
    }
}
