//! `osp.v1.TemplateService`: definitions to Backstage Templates and APIs.
use tonic::{Request, Response, Status};

use super::{State, protobuf_struct};
use crate::errors::Error;
use crate::pb::{self, template_service_server::TemplateService};
use osp::convert::Converted;
use osp::definition::Source;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The TemplateService implementation.
#[derive(Debug, Clone)]
pub(crate) struct Templates {
    state: State,
    answers: Answers,
}

/// Responses for stored definitions, keyed by the converted definition they
/// were built from (held, so its address stays unique). Building the
/// `Struct`s and etags is most of a by-name call's cost and gives the same
/// answer until the definition changes; a changed definition is a new `Arc`.
#[derive(Debug, Clone, Default)]
struct Answers(Arc<Mutex<HashMap<usize, Answer>>>);

/// A definition and the response built from it.
type Answer = (Arc<Converted>, Arc<pb::ConvertDefinitionResponse>);

impl Answers {
    fn get_or_build(&self, converted: Arc<Converted>) -> pb::ConvertDefinitionResponse {
        let key = Arc::as_ptr(&converted) as usize;
        let cached = match self.0.lock() {
            Ok(answers) => answers.get(&key).map(|(_, a)| a.clone()),
            Err(_) => return response(&converted),
        };
        // The deep copy happens outside the lock.
        if let Some(answer) = cached {
            return (*answer).clone();
        }
        let answer = Arc::new(response(&converted));
        if let Ok(mut answers) = self.0.lock() {
            // Forget definitions only this cache still holds (removed or
            // replaced in the store).
            answers.retain(|_, (c, _)| Arc::strong_count(c) > 1);
            answers.insert(key, (converted, answer.clone()));
        }
        (*answer).clone()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().map(|a| a.len()).unwrap_or_default()
    }
}

impl Templates {
    /// A service over the shared state.
    pub(crate) fn new(state: State) -> Self {
        Self {
            state,
            answers: Answers::default(),
        }
    }

    fn convert(
        &self,
        req: pb::ConvertDefinitionRequest,
    ) -> Result<pb::ConvertDefinitionResponse, Error> {
        let converted = resolve(&self.state, req.definition.as_ref())?;
        let by_name = matches!(
            req.definition.and_then(|d| d.source),
            Some(pb::definition_source::Source::Name(_))
        );
        Ok(match by_name {
            true => self.answers.get_or_build(converted),
            false => response(&converted),
        })
    }
}

fn response(converted: &Converted) -> pb::ConvertDefinitionResponse {
    pb::ConvertDefinitionResponse {
        template: Some(protobuf_struct::entity(&converted.template)),
        api: Some(protobuf_struct::entity(&converted.api)),
        warnings: converted
            .warnings
            .iter()
            .map(|w| pb::Warning {
                path: w.path.clone(),
                message: w.message.clone(),
            })
            .collect(),
    }
}

/// Resolves a `DefinitionSource` to a converted definition: by name from the
/// store, or by converting the inline document.
pub(crate) fn resolve(
    state: &State,
    source: Option<&pb::DefinitionSource>,
) -> Result<std::sync::Arc<osp::convert::Converted>, Error> {
    resolve_with_source(state, source).map(|(converted, _)| converted)
}

/// Like [`resolve`], with the cluster (or `from-dir`) a stored definition
/// came from; an inline definition has none.
pub(crate) fn resolve_with_source(
    state: &State,
    source: Option<&pb::DefinitionSource>,
) -> Result<(std::sync::Arc<osp::convert::Converted>, Option<String>), Error> {
    use pb::definition_source::Source as S;
    let cluster = source.map_or("", |s| s.cluster.as_str());
    match source.and_then(|s| s.source.as_ref()) {
        Some(S::Name(name)) if !name.is_empty() => {
            let known = if cluster.is_empty() {
                state.store.get(name)
            } else {
                state.store.get_in(cluster, name)
            };
            known
                .map(|k| (k.converted, Some(k.cluster)))
                .ok_or_else(|| Error::NotFound {
                    what: "definition",
                    name: if cluster.is_empty() {
                        name.clone()
                    } else {
                        format!("{name}` in cluster `{cluster}")
                    },
                })
        }
        Some(S::InlineYaml(yaml)) if !yaml.trim().is_empty() => {
            let field = "definition.inline_yaml";
            let doc = osp::document::from_yaml(yaml, state.document_limits).map_err(|source| {
                Error::ReadDocument {
                    field: field.into(),
                    source,
                }
            })?;
            // Parsed for this call only: its schema moves into the result.
            osp::convert::from_document(doc, &state.catalog.options())
                .map(|c| (std::sync::Arc::new(c), None))
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
        let size = prost::Message::encoded_len(&req);
        Ok(Response::new(
            super::cpu_sized(size, move || this.convert(req)).await?,
        ))
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
                    versions: d.versions.clone(),
                    compositions: k.converted.compositions.clone(),
                }
            })
            .collect();
        Ok(Response::new(pb::ListDefinitionsResponse { definitions }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn converted() -> Arc<Converted> {
        crate::fixtures::xrd_v1().converted()
    }

    #[test]
    fn answers_are_built_once_per_definition_and_forgotten_with_it() {
        let answers = Answers::default();
        let first = converted();
        let built = answers.get_or_build(first.clone());
        assert_eq!(built, response(&first), "the answer is the uncached one");
        assert_eq!(answers.get_or_build(first.clone()), built, "a hit");
        assert_eq!(answers.len(), 1, "one entry per definition");

        // The store replaces the definition: the old one is only cached now.
        drop(first);
        let second = converted();
        answers.get_or_build(second.clone());
        assert_eq!(answers.len(), 1, "the replaced definition is forgotten");
    }
}
