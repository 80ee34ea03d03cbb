//! The API entity's definition: an OpenAPI 3.0 document as JSON text (valid
//! YAML too, read by Backstage's openapi widget), written straight from the
//! definition into the text. Nothing is built to be thrown away: the head is
//! written field by field and the schema is the definition's own, borrowed
//! (issue 18: a copied schema was a fifth of a conversion, the built head a
//! quarter of this step, serde's round trip another seventh).
use serde_json::{Map, Value};

use super::pretty::{Object, Writer};
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
    let (params, item_params): (&[&str], &[&str]) = if namespaced {
        (&["namespace"], &["namespace", "name"])
    } else {
        (&[], &["name"])
    };
    let reference = format!("#/components/schemas/{kind}");
    let api_version = def.api_version();
    let mut w = Writer::default();
    w.object(|doc| {
        doc.string("openapi", "3.0.3");
        doc.entry("info", |w| {
            w.object(|info| {
                info.string("title", &format!("{kind} ({api_version})"));
                info.string("version", &def.version);
            })
        });
        doc.entry("paths", |w| {
            w.object(|paths| {
                let create = Operation {
                    method: "post",
                    summary: format!("Create a {kind}"),
                    id: format!("create{kind}"),
                    request_body: true,
                    response: ("201", "Created"),
                };
                path(paths, &base, params, &create, &reference);
                let read = Operation {
                    method: "get",
                    summary: format!("Read a {kind}"),
                    id: format!("read{kind}"),
                    request_body: false,
                    response: ("200", "The resource"),
                };
                path(
                    paths,
                    &format!("{base}/{{name}}"),
                    item_params,
                    &read,
                    &reference,
                );
            })
        });
        doc.entry("components", |w| {
            w.object(|c| {
                c.entry("schemas", |w| {
                    w.object(|schemas| {
                        let type_meta = [("apiVersion", api_version.as_str()), ("kind", kind)];
                        schemas.entry(kind, |w| typed_schema(w, &def.schema, &type_meta));
                    })
                })
            })
        });
    });
    w.finish()
}

/// The one operation of a path.
struct Operation {
    method: &'static str,
    summary: String,
    id: String,
    /// Whether it takes the object as its request body.
    request_body: bool,
    /// Status code and description of its one response.
    response: (&'static str, &'static str),
}

/// One path: its string parameters and its operation, whose body and
/// response are the object (`reference`).
fn path(paths: &mut Object<'_>, at: &str, params: &[&str], op: &Operation, reference: &str) {
    paths.entry(at, |w| {
        w.object(|item| {
            item.entry("parameters", |w| {
                w.array(params, |w, name| {
                    w.object(|p| {
                        p.string("name", name);
                        p.string("in", "path");
                        p.value("required", &Value::Bool(true));
                        p.entry("schema", |w| w.object(|s| s.string("type", "string")));
                    })
                })
            });
            item.entry(op.method, |w| {
                w.object(|o| {
                    o.string("summary", &op.summary);
                    o.string("operationId", &op.id);
                    if op.request_body {
                        o.entry("requestBody", |w| {
                            w.object(|b| {
                                b.value("required", &Value::Bool(true));
                                b.entry("content", |w| content(w, reference));
                            })
                        });
                    }
                    o.entry("responses", |w| {
                        w.object(|r| {
                            let (code, description) = op.response;
                            r.entry(code, |w| {
                                w.object(|resp| {
                                    resp.string("description", description);
                                    resp.entry("content", |w| content(w, reference));
                                })
                            });
                        })
                    });
                })
            });
        })
    });
}

/// `{"application/json": {"schema": {"$ref": <reference>}}}`.
fn content(w: &mut Writer, reference: &str) {
    w.object(|c| {
        c.entry("application/json", |w| {
            w.object(|m| {
                m.entry("schema", |w| w.object(|r| r.string("$ref", reference)));
            })
        })
    });
}

/// The definition's schema with `apiVersion` and `kind` set in its
/// `properties` to their one value, as a map insert would: in place when
/// present, else last.
fn typed_schema(w: &mut Writer, schema: &Value, type_meta: &[(&str, &str); 2]) {
    let Some(schema) = schema.as_object() else {
        return w.value(schema);
    };
    w.object(|o| {
        for (k, v) in schema {
            match v.as_object() {
                Some(props) if k == "properties" => {
                    o.entry(k, |w| typed_properties(w, props, type_meta))
                }
                _ => o.value(k, v),
            }
        }
    });
}

fn typed_properties(w: &mut Writer, props: &Map<String, Value>, type_meta: &[(&str, &str); 2]) {
    // `{"type": "string", "enum": [value]}`.
    let one_value = |w: &mut Writer, value: &str| {
        w.object(|o| {
            o.string("type", "string");
            o.entry("enum", |w| w.array(&[value], |w, v| w.string(v)));
        })
    };
    let set = |k: &str| {
        type_meta
            .iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| *v)
    };
    w.object(|o| {
        for (k, v) in props {
            match set(k) {
                Some(value) => o.entry(k, |w| one_value(w, value)),
                None => o.value(k, v),
            }
        }
        for (name, value) in type_meta
            .iter()
            .filter(|(name, _)| !props.contains_key(*name))
        {
            o.entry(name, |w| one_value(w, value));
        }
    });
}
