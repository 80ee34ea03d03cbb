//! `osp.v1.TemplateService`: definitions to Backstage Templates and APIs.
use tonic::{Request, Response, Status};

use super::{State, structs};
use crate::errors::Error;
use crate::pb::{self, template_service_server::TemplateService};
use osp::definition::Source;

/// The TemplateService implementation.
#[derive(Debug, Clone)]
pub struct Templates {
    state: State,
}

impl Templates {
    /// A service over the shared state.
    pub fn new(state: State) -> Self {
        Self { state }
    }

    fn convert(
        &self,
        req: pb::ConvertDefinitionRequest,
    ) -> Result<pb::ConvertDefinitionResponse, Error> {
        let converted = resolve(&self.state, req.definition.as_ref())?;
        Ok(pb::ConvertDefinitionResponse {
            template: Some(structs::entity(&converted.template)),
            api: Some(structs::entity(&converted.api)),
            warnings: converted
                .warnings
                .iter()
                .map(|w| pb::Warning {
                    path: w.path.clone(),
                    message: w.message.clone(),
                })
                .collect(),
        })
    }
}

/// Resolves a `DefinitionSource` to a converted definition: by name from the
/// store, or by converting the inline document.
pub fn resolve(
    state: &State,
    source: Option<&pb::DefinitionSource>,
) -> Result<std::sync::Arc<osp::convert::Converted>, Error> {
    use pb::definition_source::Source as S;
    match source.and_then(|s| s.source.as_ref()) {
        Some(S::Name(name)) if !name.is_empty() => state
            .store
            .get(name)
            .map(|k| k.converted)
            .ok_or_else(|| Error::NotFound {
                what: "definition",
                name: name.clone(),
            }),
        Some(S::InlineYaml(yaml)) if !yaml.trim().is_empty() => {
            let field = "definition.inline_yaml";
            let doc = osp::document::from_yaml(yaml, state.document_limits).map_err(|source| {
                Error::ReadDocument {
                    field: field.into(),
                    source,
                }
            })?;
            osp::convert::for_entities(&doc)
                .map(std::sync::Arc::new)
                .map_err(|source| Error::Convert {
                    field: field.into(),
                    source,
                })
        }
        _ => Err(Error::invalid(
            "definition",
            "set `name` or `inline_yaml` to a non-empty value",
        )),
    }
}

#[tonic::async_trait]
impl TemplateService for Templates {
    async fn convert_definition(
        &self,
        request: Request<pb::ConvertDefinitionRequest>,
    ) -> Result<Response<pb::ConvertDefinitionResponse>, Status> {
        let this = self.clone();
        let req = request.into_inner();
        Ok(Response::new(super::cpu(move || this.convert(req)).await?))
    }

    async fn list_definitions(
        &self,
        request: Request<pb::ListDefinitionsRequest>,
    ) -> Result<Response<pb::ListDefinitionsResponse>, Status> {
        let cluster = request.into_inner().cluster;
        let definitions = self
            .state
            .store
            .all()
            .into_iter()
            .filter(|k| cluster.is_empty() || k.cluster == cluster)
            .map(|k| {
                let d = &k.converted.definition;
                pb::DefinitionSummary {
                    name: d.name.clone(),
                    kind: match d.source {
                        Source::XrdV1 | Source::XrdV2 => pb::DefinitionKind::Xrd,
                        Source::Rgd => pb::DefinitionKind::Rgd,
                        Source::Promise => pb::DefinitionKind::Promise,
                    } as i32,
                    group: d.group.clone(),
                    version: d.version.clone(),
                    target_kind: d.target().kind.clone(),
                    clusters: vec![k.cluster.clone()],
                }
            })
            .collect();
        Ok(Response::new(pb::ListDefinitionsResponse { definitions }))
    }
}
