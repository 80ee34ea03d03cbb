//! Shared pieces of Backstage entities: valid names, refs and the
//! annotations the catalog requires on provider-managed entities.
use serde_json::{Map, Value, json};

/// Where generated entities claim to come from; the catalog requires both
/// `managed-by-location` annotations on entities from a provider.
pub const LOCATION: &str = "url:osp://sidecar";

/// Maximum length of a Backstage entity name.
pub const MAX_NAME_LEN: usize = 63;

/// Turns any string into a valid Backstage entity name: `[a-z0-9A-Z-_.]`,
/// starting and ending alphanumeric, at most 63 characters. Names that had to
/// be shortened get a stable hash suffix so two long names never collide.
pub fn name_for(raw: &str) -> String {
    let valid = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    let bytes = raw.as_bytes();
    let ends_alphanumeric = bytes
        .first()
        .zip(bytes.last())
        .is_some_and(|(first, last)| first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric());
    if raw.len() <= MAX_NAME_LEN && ends_alphanumeric && bytes.iter().all(valid) {
        // Already a name, as almost every definition's is.
        return raw.to_owned();
    }
    sanitised(raw)
}

/// [`name_for`] the long way: every character replaced or kept, trimmed,
/// shortened with a hash.
fn sanitised(raw: &str) -> String {
    let mut s: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    s = s
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    if s.len() > MAX_NAME_LEN || s.is_empty() {
        let hash = format!("{:08x}", fnv1a(raw.as_bytes()) as u32);
        s.truncate(MAX_NAME_LEN - hash.len() - 1);
        let s = s.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
        return if s.is_empty() {
            format!("x-{hash}")
        } else {
            format!("{s}-{hash}")
        };
    }
    s
}

/// The FNV-1a hash: small, stable across releases and platforms.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The ref of an entity: `kind:namespace/name`, kind lowercased.
pub fn ref_of(entity: &Value) -> String {
    let kind = entity["kind"].as_str().unwrap_or_default().to_lowercase();
    let ns = entity["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default");
    let name = entity["metadata"]["name"].as_str().unwrap_or_default();
    format!("{kind}:{ns}/{name}")
}

/// True for an absolute `http://` or `https://` URL with a host: what
/// Backstage's default `FieldFormatEntityPolicy` accepts in `links[].url`
/// (it parses with WHATWG `new URL`, which refuses relative paths, an empty
/// host and spaces).
pub fn is_absolute_url(s: &str) -> bool {
    let Some(rest) = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
    else {
        return false;
    };
    if s.chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.strip_prefix('[') {
        // An IPv6 literal: `[::1]` or `[::1]:8080`.
        Some(v6) => match v6.split_once(']') {
            Some((h, after)) => (h, after.strip_prefix(':').unwrap_or(after)),
            None => return false,
        },
        None => host_port.split_once(':').unwrap_or((host_port, "")),
    };
    !host.is_empty() && port.chars().all(|c| c.is_ascii_digit())
}

/// Annotations every entity we emit carries.
pub fn managed_annotations() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("backstage.io/managed-by-location".into(), json!(LOCATION));
    m.insert(
        "backstage.io/managed-by-origin-location".into(),
        json!(LOCATION),
    );
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn valid_names_are_kept_as_the_long_way_keeps_them(raw in "[-a-z0-9A-Z_./ ]{0,70}") {
            proptest::prop_assert_eq!(name_for(&raw), sanitised(&raw));
        }
    }

    #[test]
    fn names_are_valid_and_stable() {
        struct Case {
            reason: &'static str,
            raw: String,
            want: &'static str,
        }
        let cases = [
            Case {
                reason: "a valid name is kept",
                raw: "xpostgres.example.org".into(),
                want: "xpostgres.example.org",
            },
            Case {
                reason: "slashes become dashes",
                raw: "team/a".into(),
                want: "team-a",
            },
            Case {
                reason: "leading and trailing symbols are trimmed",
                raw: "-a-".into(),
                want: "a",
            },
        ];
        for c in cases {
            assert_eq!(name_for(&c.raw), c.want, "{}", c.reason);
        }
        let long = "a".repeat(100);
        let n = name_for(&long);
        assert!(n.len() <= MAX_NAME_LEN, "long names are shortened");
        assert_eq!(n, name_for(&long), "shortening is deterministic");
        assert_ne!(n, name_for(&"a".repeat(101)), "different inputs differ");
        assert!(!name_for("///").is_empty(), "nothing valid still names");
    }

    #[test]
    fn absolute_urls_are_recognised() {
        struct Case {
            reason: &'static str,
            url: &'static str,
            want: bool,
        }
        let cases = [
            Case {
                reason: "Backstage's default app.baseUrl",
                url: "http://localhost:3000",
                want: true,
            },
            Case {
                reason: "https with a path and a query",
                url: "https://portal.example.org/backstage/create?formData=%7B%7D",
                want: true,
            },
            Case {
                reason: "an IPv6 literal with a port",
                url: "http://[::1]:7007/x",
                want: true,
            },
            Case {
                reason: "a relative link is what the catalog policy rejects",
                url: "/create/templates/default/x",
                want: false,
            },
            Case {
                reason: "no host",
                url: "https:///x",
                want: false,
            },
            Case {
                reason: "another scheme",
                url: "ftp://example.org",
                want: false,
            },
            Case {
                reason: "a space inside",
                url: "https://example.org/a b",
                want: false,
            },
            Case {
                reason: "a port that is not a number",
                url: "http://example.org:http/",
                want: false,
            },
        ];
        for c in cases {
            assert_eq!(is_absolute_url(c.url), c.want, "{}: `{}`", c.reason, c.url);
        }
    }
}
