//! `for_display`: a watched object as a person reads it on the Resource
//! page, without the bookkeeping the API server and `kubectl apply` add.

use serde_json::Value;

/// Annotations that repeat the object or describe how it was applied.
const NOISE_ANNOTATIONS: [&str; 1] = ["kubectl.kubernetes.io/last-applied-configuration"];

/// The object without `metadata.managedFields` and the annotations in
/// [`NOISE_ANNOTATIONS`] (an emptied `annotations` map is dropped too).
/// Claims and XRs hold no secret values: a connection secret is only named.
pub fn for_display(obj: &Value) -> Value {
    let mut out = obj.clone();
    let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) else {
        return out;
    };
    meta.shift_remove("managedFields");
    if let Some(Value::Object(a)) = meta.get_mut("annotations") {
        for key in NOISE_ANNOTATIONS {
            a.shift_remove(key);
        }
        if a.is_empty() {
            meta.shift_remove("annotations");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::for_display;

    #[test]
    fn bookkeeping_is_left_out_and_the_rest_kept_in_order() {
        struct Case {
            reason: &'static str,
            obj: serde_json::Value,
            want: serde_json::Value,
        }
        let cases = [
            Case {
                reason: "managedFields and last-applied go, other annotations stay",
                obj: json!({"kind": "Queue", "metadata": {"name": "jobs", "managedFields": [{"manager": "kubectl"}],
                    "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{…}", "osp.dev/owner": "group:default/a"}},
                    "spec": {"size": 3}, "status": {"conditions": []}}),
                want: json!({"kind": "Queue", "metadata": {"name": "jobs", "annotations": {"osp.dev/owner": "group:default/a"}},
                    "spec": {"size": 3}, "status": {"conditions": []}}),
            },
            Case {
                reason: "an annotations map left empty is dropped",
                obj: json!({"metadata": {"name": "jobs", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}}}),
                want: json!({"metadata": {"name": "jobs"}}),
            },
            Case {
                reason: "an object without metadata is shown as it is",
                obj: json!({"kind": "Queue"}),
                want: json!({"kind": "Queue"}),
            },
        ];
        for c in cases {
            let got = for_display(&c.obj);
            assert_eq!(got, c.want, "{}", c.reason);
            assert_eq!(
                got.to_string(),
                c.want.to_string(),
                "{}: key order",
                c.reason
            );
        }
    }
}
