//! The tree of composed resources under a claim or XR, followed through
//! `spec.resourceRef` (claim → XR) and `spec.resourceRefs` /
//! `spec.crossplane.resourceRefs` (XR → composed resources).
use serde_json::Value;

use super::state::{Condition, State, conditions, for_state};

/// Deepest nesting followed; compositions nest a few levels at most.
pub const MAX_DEPTH: usize = 8;

/// Identity of a Kubernetes object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// Namespace, empty when cluster-scoped.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ObjectRef {
    /// The identity of `obj` itself.
    pub fn of(obj: &Value) -> Self {
        let s = |p: &str| {
            obj.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Self {
            api_version: s("/apiVersion"),
            kind: s("/kind"),
            namespace: s("/metadata/namespace"),
            name: s("/metadata/name"),
        }
    }
}

/// One object of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Which object.
    pub object: ObjectRef,
    /// Its summary state; `None` when the object could not be read.
    pub state: Option<State>,
    /// Its conditions.
    pub conditions: Vec<Condition>,
    /// Objects composed by it.
    pub children: Vec<Node>,
}

/// References from `obj` to what it composes (a claim's XR, an XR's
/// composed resources). A reference without a namespace inherits `obj`'s
/// only when `obj` is namespaced and the reference is to a composed
/// resource of a namespaced (v2) XR.
pub fn children_of(obj: &Value) -> Vec<ObjectRef> {
    let parent_ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let read = |r: &Value, inherit: bool| {
        let s = |k: &str| {
            r.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let mut ns = s("namespace");
        if ns.is_empty() && inherit {
            ns = parent_ns.to_string();
        }
        ObjectRef {
            api_version: s("apiVersion"),
            kind: s("kind"),
            namespace: ns,
            name: s("name"),
        }
    };
    let mut out = Vec::new();
    // A claim points at its (cluster-scoped) XR.
    if let Some(r) = obj.pointer("/spec/resourceRef") {
        out.push(read(r, false));
    }
    let v2 = obj.pointer("/spec/crossplane/resourceRefs");
    let refs = v2.or_else(|| obj.pointer("/spec/resourceRefs"));
    for r in refs.and_then(Value::as_array).into_iter().flatten() {
        out.push(read(r, v2.is_some()));
    }
    out.retain(|r| !r.name.is_empty() && !r.kind.is_empty());
    out
}

/// The tree under `root`, reading each referenced object with `lookup`
/// (`None` when it cannot be read: the node then has no state).
pub fn for_tree(root: &Value, lookup: &dyn Fn(&ObjectRef) -> Option<Value>) -> Node {
    let mut seen = Vec::new();
    node(
        ObjectRef::of(root),
        Some(root.clone()),
        lookup,
        0,
        &mut seen,
    )
}

fn node(
    object: ObjectRef,
    obj: Option<Value>,
    lookup: &dyn Fn(&ObjectRef) -> Option<Value>,
    depth: usize,
    seen: &mut Vec<ObjectRef>,
) -> Node {
    let Some(obj) = obj else {
        return Node {
            object,
            state: None,
            conditions: Vec::new(),
            children: Vec::new(),
        };
    };
    seen.push(object.clone());
    let children = if depth >= MAX_DEPTH {
        Vec::new()
    } else {
        let mut out = Vec::new();
        for r in children_of(&obj) {
            // A reference cycle would otherwise never end.
            if seen.contains(&r) {
                continue;
            }
            let child = lookup(&r);
            out.push(node(r, child, lookup, depth + 1, seen));
        }
        out
    };
    Node {
        object,
        state: Some(for_state(&obj).0),
        conditions: conditions(&obj),
        children,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn follows_claim_to_xr_to_composed() {
        let claim = json!({"apiVersion": "db.example.org/v1", "kind": "Postgres",
            "metadata": {"name": "orders", "namespace": "team-a"},
            "spec": {"resourceRef": {"apiVersion": "db.example.org/v1", "kind": "XPostgres", "name": "orders-x1"}}});
        let xr = json!({"apiVersion": "db.example.org/v1", "kind": "XPostgres",
            "metadata": {"name": "orders-x1"},
            "spec": {"resourceRefs": [
                {"apiVersion": "rds.aws/v1", "kind": "Instance", "name": "orders-x1-abc"},
                {"apiVersion": "db.example.org/v1", "kind": "Postgres", "name": "orders", "namespace": "team-a"}
            ]},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Available"}]}});
        let lookup = |r: &ObjectRef| (r.kind == "XPostgres").then(|| xr.clone());
        let tree = for_tree(&claim, &lookup);
        assert_eq!(tree.state, Some(State::Pending), "the claim has no status");
        assert_eq!(tree.children.len(), 1, "a claim has its XR as only child");
        let x = &tree.children[0];
        assert_eq!(x.state, Some(State::Ready), "the XR was read");
        assert_eq!(
            x.children.len(),
            1,
            "the reference back to the claim is a cycle and is cut"
        );
        assert_eq!(
            x.children[0].state, None,
            "an unreadable object has no state"
        );
    }

    #[test]
    fn v2_refs_inherit_the_namespace() {
        let xr = json!({"kind": "App", "metadata": {"name": "a", "namespace": "ns"},
            "spec": {"crossplane": {"resourceRefs": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "c"}]}}});
        let refs = children_of(&xr);
        assert_eq!(
            refs[0].namespace, "ns",
            "v2 composed resources live in the XR's namespace"
        );
    }
}
