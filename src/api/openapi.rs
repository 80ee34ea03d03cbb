//! The API entity's definition: an OpenAPI 3.0 document as JSON text (valid
//! YAML too, read by Backstage's openapi widget), written straight from the
//! definition. Nothing is built to be thrown away: the paths are typed
//! structs and the schema is the definition's own, borrowed (issue 18: a
//! copied schema was a fifth of a conversion, the built head a quarter of
//! this step).
use serde::{Serialize, Serializer, ser::SerializeMap};
use serde_json::{Map, Value, json};

use crate::definition::Definition;

/// The object schema, and the Kubernetes paths to create and read it.
pub(crate) fn for_openapi(def: &Definition) -> String {
    let target = def.target();
    let kind = target.kind.as_str();
    let plural = if def.is_claim() {
        &target.plural
    } else {
        &def.names.plural
    };
    let namespaced = def.is_namespaced();
    let base = if namespaced {
        format!(
            "/apis/{}/{}/namespaces/{{namespace}}/{plural}",
            def.group, def.version
        )
    } else {
        format!("/apis/{}/{}/{plural}", def.group, def.version)
    };
    let (params, item_params): (&[Param], &[Param]) = if namespaced {
        (&[NAMESPACE], &[NAMESPACE, NAME])
    } else {
        (&[], &[NAME])
    };
    let reference = Ref {
        to: format!("#/components/schemas/{kind}"),
    };
    let api_version = json!({"type": "string", "enum": [def.api_version()]});
    let kind_schema = json!({"type": "string", "enum": [kind]});
    let doc = Document {
        openapi: "3.0.3",
        info: Info {
            title: format!("{kind} ({})", def.api_version()),
            version: &def.version,
        },
        paths: Paths {
            collection: Path {
                at: &base,
                parameters: params,
                method: "post",
                operation: Operation {
                    summary: format!("Create a {kind}"),
                    operation_id: format!("create{kind}"),
                    request_body: Some(RequestBody {
                        required: true,
                        content: content(&reference),
                    }),
                    responses: One("201", Response::new("Created", &reference)),
                },
            },
            item: Path {
                at: &format!("{base}/{{name}}"),
                parameters: item_params,
                method: "get",
                operation: Operation {
                    summary: format!("Read a {kind}"),
                    operation_id: format!("read{kind}"),
                    request_body: None,
                    responses: One("200", Response::new("The resource", &reference)),
                },
            },
        },
        components: One(
            "schemas",
            One(
                kind,
                TypedSchema {
                    schema: &def.schema,
                    type_meta: [("apiVersion", &api_version), ("kind", &kind_schema)],
                },
            ),
        ),
    };
    super::pretty::to_string_pretty(&doc)
}

#[derive(Serialize)]
struct Document<'a> {
    openapi: &'static str,
    info: Info<'a>,
    paths: Paths<'a>,
    components: One<&'static str, One<&'a str, TypedSchema<'a>>>,
}

#[derive(Serialize)]
struct Info<'a> {
    title: String,
    version: &'a str,
}

/// The collection path (create), then the item path (read).
struct Paths<'a> {
    collection: Path<'a>,
    item: Path<'a>,
}

impl Serialize for Paths<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        for p in [&self.collection, &self.item] {
            map.serialize_entry(p.at, &PathItem(p))?;
        }
        map.end()
    }
}

/// One path: its parameters and its one operation.
struct Path<'a> {
    at: &'a str,
    parameters: &'a [Param],
    method: &'static str,
    operation: Operation<'a>,
}

struct PathItem<'p, 'a>(&'p Path<'a>);

impl Serialize for PathItem<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("parameters", self.0.parameters)?;
        map.serialize_entry(self.0.method, &self.0.operation)?;
        map.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Operation<'a> {
    summary: String,
    operation_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_body: Option<RequestBody<'a>>,
    responses: One<&'static str, Response<'a>>,
}

/// `{"application/json": {"schema": <reference>}}`.
type Content<'a> = One<&'static str, One<&'static str, &'a Ref>>;

fn content(reference: &Ref) -> Content<'_> {
    One("application/json", One("schema", reference))
}

#[derive(Serialize)]
struct RequestBody<'a> {
    required: bool,
    content: Content<'a>,
}

#[derive(Serialize)]
struct Response<'a> {
    description: &'static str,
    content: Content<'a>,
}

impl<'a> Response<'a> {
    fn new(description: &'static str, reference: &'a Ref) -> Self {
        Self {
            description,
            content: content(reference),
        }
    }
}

/// `{"$ref": "#/components/schemas/<kind>"}`.
#[derive(Serialize)]
struct Ref {
    #[serde(rename = "$ref")]
    to: String,
}

/// A path parameter, a string.
#[derive(Serialize)]
struct Param {
    name: &'static str,
    #[serde(rename = "in")]
    location: &'static str,
    required: bool,
    schema: One<&'static str, &'static str>,
}

const NAMESPACE: Param = Param {
    name: "namespace",
    location: "path",
    required: true,
    schema: One("type", "string"),
};

const NAME: Param = Param {
    name: "name",
    location: "path",
    required: true,
    schema: One("type", "string"),
};

/// A one-entry map.
struct One<K, V>(K, V);

impl<K: Serialize, V: Serialize> Serialize for One<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(&self.0, &self.1)?;
        map.end()
    }
}

/// The definition's schema with `apiVersion` and `kind` set in its
/// `properties`, as a map insert would: in place when present, else last.
struct TypedSchema<'a> {
    schema: &'a Value,
    type_meta: [(&'static str, &'a Value); 2],
}

impl Serialize for TypedSchema<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Some(schema) = self.schema.as_object() else {
            return self.schema.serialize(s);
        };
        let mut map = s.serialize_map(Some(schema.len()))?;
        for (k, v) in schema {
            match v.as_object() {
                Some(props) if k == "properties" => {
                    map.serialize_entry(k, &TypedProperties(props, &self.type_meta))?
                }
                _ => map.serialize_entry(k, v)?,
            }
        }
        map.end()
    }
}

struct TypedProperties<'a>(&'a Map<String, Value>, &'a [(&'static str, &'a Value); 2]);

impl Serialize for TypedProperties<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let TypedProperties(props, type_meta) = self;
        let set = |k: &str| {
            type_meta
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| *v)
        };
        let mut map = s.serialize_map(None)?;
        for (k, v) in *props {
            map.serialize_entry(k, set(k).unwrap_or(v))?;
        }
        for (name, v) in type_meta
            .iter()
            .filter(|(name, _)| !props.contains_key(*name))
        {
            map.serialize_entry(name, v)?;
        }
        map.end()
    }
}
