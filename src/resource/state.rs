//! Summary state of a claim, XR, KRO instance or Kratix resource from its
//! status: Crossplane's `Synced` and `Ready` conditions (KRO's `status.state`
//! where present), reduced to one of five states with the message that
//! explains it.
use serde_json::Value;

/// A claim's or XR's condition summary (mirrors `osp.v1.ResourceState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Created; nothing has reported on it yet.
    Pending,
    /// Synced, not yet Ready.
    Provisioning,
    /// Synced and Ready.
    Ready,
    /// `Synced=False`, or `Ready=False` with a reason other than creating.
    Error,
    /// Has a deletion timestamp.
    Deleting,
}

impl State {
    /// Lowercase word used in annotations and docs.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Provisioning => "provisioning",
            State::Ready => "ready",
            State::Error => "error",
            State::Deleting => "deleting",
        }
    }
}

/// One status condition, as Kubernetes reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Condition {
    /// `type`, e.g. `Ready`.
    pub kind: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Machine-readable reason.
    pub reason: String,
    /// Human-readable message.
    pub message: String,
    /// RFC 3339 time of the last transition.
    pub last_transition_time: String,
}

/// The conditions in `status.conditions` (malformed entries skipped).
pub fn conditions(obj: &Value) -> Vec<Condition> {
    let s = |c: &Value, k: &str| {
        c.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter(|c| c.get("type").and_then(Value::as_str).is_some())
                .map(|c| Condition {
                    kind: s(c, "type"),
                    status: s(c, "status"),
                    reason: s(c, "reason"),
                    message: s(c, "message"),
                    last_transition_time: s(c, "lastTransitionTime"),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Ready reasons that mean "still on its way" rather than failure: an XR's
/// `Creating`, and a claim's `Waiting` (Crossplane v2's claim controller
/// writes `Ready=False/Waiting` "Claim is waiting for composite resource to
/// become Ready" for as long as its XR is not Ready).
const PROGRESS_REASONS: [&str; 4] = ["Creating", "Waiting", "", "Unknown"];

/// The summary state of an object and the message that explains it.
pub fn for_state(obj: &Value) -> (State, String) {
    let conds = conditions(obj);
    let find = |t: &str| conds.iter().find(|c| c.kind == t);
    let status_message = obj
        .pointer("/status/message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let say = |c: Option<&Condition>| {
        c.map(|c| {
            if c.message.is_empty() {
                c.reason.clone()
            } else {
                c.message.clone()
            }
        })
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| status_message.clone())
    };
    if obj
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null())
    {
        return (State::Deleting, say(find("Ready")));
    }
    let (synced, ready) = (find("Synced"), find("Ready"));
    if let Some(c) = synced.filter(|c| c.status == "False") {
        return (State::Error, say(Some(c)));
    }
    if let Some(c) = ready {
        return match c.status.as_str() {
            "True" => (State::Ready, say(Some(c))),
            "False" if c.reason == "Deleting" => (State::Deleting, say(Some(c))),
            "False" if !PROGRESS_REASONS.contains(&c.reason.as_str()) => {
                (State::Error, say(Some(c)))
            }
            _ => (State::Provisioning, say(Some(c))),
        };
    }
    // KRO reports a state word instead of (or before) a Ready condition.
    if let Some(s) = obj.pointer("/status/state").and_then(Value::as_str) {
        let state = match s.to_ascii_uppercase().as_str() {
            "ACTIVE" | "READY" => State::Ready,
            "FAILED" | "ERROR" => State::Error,
            "DELETING" => State::Deleting,
            _ => State::Provisioning,
        };
        return (state, status_message);
    }
    match synced {
        Some(c) if c.status == "True" => (State::Provisioning, say(Some(c))),
        _ => (State::Pending, status_message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cond(t: &str, status: &str, reason: &str, message: &str) -> Value {
        json!({"type": t, "status": status, "reason": reason, "message": message})
    }

    #[test]
    fn maps_conditions_to_states() {
        struct Case {
            reason: &'static str,
            obj: Value,
            want: (State, &'static str),
        }
        let cases = [
            Case {
                reason: "no status yet is pending",
                obj: json!({"metadata": {"name": "a"}}),
                want: (State::Pending, ""),
            },
            Case {
                reason: "synced but no Ready condition is provisioning",
                obj: json!({"status": {"conditions": [cond("Synced", "True", "ReconcileSuccess", "")]}}),
                want: (State::Provisioning, "ReconcileSuccess"),
            },
            Case {
                reason: "Ready=False while creating is provisioning, with the message",
                obj: json!({"status": {"conditions": [
                    cond("Synced", "True", "ReconcileSuccess", ""),
                    cond("Ready", "False", "Creating", "Unready resources: db"),
                ]}}),
                want: (State::Provisioning, "Unready resources: db"),
            },
            Case {
                reason: "a claim waiting for its XR is provisioning (Crossplane v2.3.0's claim controller)",
                obj: json!({"status": {"conditions": [
                    cond("Synced", "True", "ReconcileSuccess", ""),
                    cond("Ready", "False", "Waiting", "Claim is waiting for composite resource to become Ready"),
                ]}}),
                want: (
                    State::Provisioning,
                    "Claim is waiting for composite resource to become Ready",
                ),
            },
            Case {
                reason: "Synced and Ready is ready",
                obj: json!({"status": {"conditions": [
                    cond("Synced", "True", "ReconcileSuccess", ""),
                    cond("Ready", "True", "Available", ""),
                ]}}),
                want: (State::Ready, "Available"),
            },
            Case {
                reason: "Synced=False is an error whatever Ready says",
                obj: json!({"status": {"conditions": [
                    cond("Synced", "False", "ReconcileError", "cannot compose: boom"),
                    cond("Ready", "True", "Available", ""),
                ]}}),
                want: (State::Error, "cannot compose: boom"),
            },
            Case {
                reason: "Ready=False with a failure reason is an error",
                obj: json!({"status": {"conditions": [
                    cond("Synced", "True", "ReconcileSuccess", ""),
                    cond("Ready", "False", "Unavailable", "instance unhealthy"),
                ]}}),
                want: (State::Error, "instance unhealthy"),
            },
            Case {
                reason: "a deletion timestamp wins over everything",
                obj: json!({"metadata": {"deletionTimestamp": "2025-01-01T00:00:00Z"},
                            "status": {"conditions": [cond("Ready", "True", "Available", "")]}}),
                want: (State::Deleting, "Available"),
            },
            Case {
                reason: "Ready=False/Deleting is deleting",
                obj: json!({"status": {"conditions": [cond("Ready", "False", "Deleting", "")]}}),
                want: (State::Deleting, "Deleting"),
            },
            Case {
                reason: "KRO's state word is used without a Ready condition",
                obj: json!({"status": {"state": "ACTIVE"}}),
                want: (State::Ready, ""),
            },
            Case {
                reason: "KRO failure keeps the status message",
                obj: json!({"status": {"state": "FAILED", "message": "graph error"}}),
                want: (State::Error, "graph error"),
            },
            Case {
                reason: "malformed conditions are ignored",
                obj: json!({"status": {"conditions": [1, {"status": "True"}]}}),
                want: (State::Pending, ""),
            },
        ];
        for c in cases {
            let (state, message) = for_state(&c.obj);
            assert_eq!((state, message.as_str()), c.want, "{}", c.reason);
        }
    }
}
