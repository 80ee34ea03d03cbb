//! Deterministic branch names: the same idempotency key always maps to the
//! same branch, so a retried publication finds its earlier branch and pull
//! request instead of opening new ones.

/// The default pattern: readable slug plus a short stable hash of the full
/// key (the slug alone is lossy: `a/b` and `a-b` share it).
pub const DEFAULT_PATTERN: &str = "osp/{key-slug}-{hash}";

/// Slugs up to this length are used whole (so the branches of keys this
/// short never changed); longer ones shorten everything before the name.
const SHORT_SLUG: usize = 48;

/// Longest claim name kept: a DNS label, the longest name osp renders.
const MAX_NAME: usize = 63;

/// Hex digits of the hash that stands for a shortened prefix.
const PREFIX_HASH: usize = 6;

/// Longest slug: a name of [`MAX_NAME`] behind a prefix hash. Git has no
/// length limit, but each ref component is a file name on the server.
pub const MAX_SLUG: usize = MAX_NAME + 1 + PREFIX_HASH;

/// Errors from naming a branch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The idempotency key is empty.
    #[error("idempotency key is empty")]
    EmptyKey,
    /// The pattern lacks `{hash}`, so distinct keys could share a branch.
    #[error("branch pattern `{pattern}` must contain `{{hash}}`")]
    PatternWithoutHash { pattern: String },
    /// The expanded name is not a valid git ref name.
    #[error("branch name `{name}` is not a valid git ref: {reason}")]
    InvalidRef { name: String, reason: &'static str },
}

/// A branch name pattern with the placeholders `{key-slug}` and `{hash}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(String);

impl Pattern {
    /// Checks a pattern: it must contain `{hash}` and expand to a valid ref.
    pub fn new(pattern: &str) -> Result<Self, Error> {
        if !pattern.contains("{hash}") {
            return Err(Error::PatternWithoutHash {
                pattern: pattern.to_owned(),
            });
        }
        let p = Self(pattern.to_owned());
        for_branch("example", &p)?;
        Ok(p)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Pattern {
    fn default() -> Self {
        Self(DEFAULT_PATTERN.to_owned())
    }
}

/// The branch for an idempotency key.
pub fn for_branch(key: &str, pattern: &Pattern) -> Result<String, Error> {
    if key.trim().is_empty() {
        return Err(Error::EmptyKey);
    }
    let name = pattern
        .0
        .replace("{key-slug}", &slug(key))
        .replace("{hash}", &hash(key));
    check_ref(&name).map_err(|reason| Error::InvalidRef {
        name: name.clone(),
        reason,
    })?;
    Ok(name)
}

/// Lowercase ASCII letters and digits, every other run of characters one
/// `-`. The key's last `/` segment (the claim's name) is always kept whole
/// (up to [`MAX_NAME`]); when the slug would exceed [`SHORT_SLUG`], the
/// segments before it are cut and followed by a hash of what they said.
pub fn slug(key: &str) -> String {
    let parts: Vec<String> = key
        .split('/')
        .map(|p| cut(&words(p), MAX_NAME))
        .filter(|p| !p.is_empty())
        .collect();
    let Some((name, rest)) = parts.split_last() else {
        return "change".to_owned();
    };
    if rest.is_empty() {
        return name.clone();
    }
    let prefix = rest.join("-");
    if prefix.len() + 1 + name.len() <= SHORT_SLUG {
        return format!("{prefix}-{name}");
    }
    let tag = &hash(&prefix)[..PREFIX_HASH];
    let room = SHORT_SLUG.saturating_sub(name.len() + PREFIX_HASH + 2);
    match cut(&prefix, room) {
        head if head.is_empty() => format!("{tag}-{name}"),
        head => format!("{head}-{tag}-{name}"),
    }
}

/// `s` folded to `[a-z0-9]` words joined by single `-`.
fn words(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// The first `max` bytes of an ASCII slug, without a trailing `-`.
fn cut(s: &str, max: usize) -> String {
    s[..s.len().min(max)].trim_end_matches('-').to_owned()
}

/// First 8 hex digits of the FNV-1a 64 hash of the key: stable across
/// releases and platforms because it is spelled out here, not `std`'s hasher.
pub fn hash(key: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:08x}", h >> 32)
}

/// The rules of `git check-ref-format` for a branch name.
pub fn check_ref(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name == "@" {
        return Err("empty or `@`");
    }
    if name
        .chars()
        .any(|c| c.is_control() || " ~^:?*[\\".contains(c))
    {
        return Err("contains a space, control or special character");
    }
    if name.contains("..") || name.contains("@{") {
        return Err("contains `..` or `@{`");
    }
    if name.ends_with('/') || name.ends_with('.') {
        return Err("ends with `/` or `.`");
    }
    for part in name.split('/') {
        if part.is_empty() {
            return Err("has an empty component");
        }
        if part.starts_with('.') || part.starts_with('-') {
            return Err("a component starts with `.` or `-`");
        }
        if part.ends_with(".lock") {
            return Err("a component ends with `.lock`");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn names_branches() {
        struct Case {
            reason: &'static str,
            key: &'static str,
            pattern: &'static str,
            want: Result<&'static str, Error>,
        }
        let cases = [
            Case {
                reason: "claim key becomes a readable slug plus hash",
                key: "claim/team-a/db1",
                pattern: DEFAULT_PATTERN,
                want: Ok("osp/claim-team-a-db1-"),
            },
            Case {
                reason: "punctuation and case fold into the slug",
                key: "  Team A:: DB..1 ",
                pattern: DEFAULT_PATTERN,
                want: Ok("osp/team-a-db-1-"),
            },
            Case {
                reason: "a key without letters still names a branch",
                key: "///",
                pattern: "gitops/{key-slug}/{hash}",
                want: Ok("gitops/change/"),
            },
            Case {
                reason: "empty key",
                key: " ",
                pattern: DEFAULT_PATTERN,
                want: Err(Error::EmptyKey),
            },
        ];
        for c in cases {
            let pattern = Pattern::new(c.pattern).expect("valid pattern");
            let got = for_branch(c.key, &pattern);
            match (got, c.want) {
                (Ok(got), Ok(prefix)) => {
                    assert!(got.starts_with(prefix), "{}: {got}", c.reason);
                    assert_eq!(got.len(), prefix.len() + 8, "{}: {got}", c.reason);
                }
                (got, want) => assert_eq!(got.map(|_| ()), want.map(|_| ()), "{}", c.reason),
            }
        }
    }

    #[test]
    fn long_keys_keep_the_claim_name() {
        struct Case {
            reason: &'static str,
            key: String,
            want: String,
        }
        let name63 = "n".repeat(63);
        let cases = [
            Case {
                reason: "a short key is used whole, as before",
                key: "claim/prod/team-a/postgresqlinstance/orders-db".into(),
                want: "claim-prod-team-a-postgresqlinstance-orders-db".into(),
            },
            Case {
                reason: "a long prefix is cut and hashed, the name stays whole",
                key: "claim/prod-eu-west-1/team-payments/postgresqlinstance/orders-db".into(),
                want: format!(
                    "claim-prod-eu-west-1-team-payme-{}-orders-db",
                    &hash("claim-prod-eu-west-1-team-payments-postgresqlinstance")[..6]
                ),
            },
            Case {
                reason: "the key that lost `-db` when cut at 48 characters keeps it",
                key: "claim/default/team-a/postgresqlinstance/orders-db".into(),
                want: format!(
                    "claim-default-team-a-postgresql-{}-orders-db",
                    &hash("claim-default-team-a-postgresqlinstance")[..6]
                ),
            },
            Case {
                reason: "a 63-character claim name (the longest DNS label) is kept whole",
                key: format!("claim/prod/team-a/postgresqlinstance/{name63}"),
                want: format!(
                    "{}-{name63}",
                    &hash("claim-prod-team-a-postgresqlinstance")[..6]
                ),
            },
            Case {
                reason: "a name longer than a DNS label keeps its first 63 characters",
                key: format!("claim/prod/{}", "m".repeat(200)),
                want: format!("{}-{}", &hash("claim-prod")[..6], "m".repeat(63)),
            },
            Case {
                reason: "a key without `/` is all name",
                key: "Orders DB".into(),
                want: "orders-db".into(),
            },
        ];
        for c in cases {
            let got = slug(&c.key);
            assert_eq!(got, c.want, "{}", c.reason);
            assert!(got.len() <= MAX_SLUG, "{}: `{got}` is too long", c.reason);
            let branch = for_branch(&c.key, &Pattern::default()).expect(c.reason);
            assert!(check_ref(&branch).is_ok(), "{}: `{branch}`", c.reason);
        }
    }

    #[test]
    fn rejects_bad_patterns() {
        struct Case {
            reason: &'static str,
            pattern: &'static str,
        }
        let cases = [
            Case {
                reason: "no hash: distinct keys could collide",
                pattern: "osp/{key-slug}",
            },
            Case {
                reason: "a space is not allowed in refs",
                pattern: "osp changes/{hash}",
            },
            Case {
                reason: "component starting with a dot",
                pattern: "osp/.{hash}",
            },
            Case {
                reason: "lock suffix",
                pattern: "{hash}.lock",
            },
        ];
        for c in cases {
            assert!(Pattern::new(c.pattern).is_err(), "{}", c.reason);
        }
    }

    #[test]
    fn hash_is_stable() {
        // Pinned: changing it would orphan every open pull request.
        assert_eq!(hash("claim/team-a/db1"), hash("claim/team-a/db1"));
        assert_eq!(hash(""), "cbf29ce4");
        assert_ne!(hash("a/b"), hash("a-b"));
    }

    proptest! {
        #[test]
        fn every_key_names_a_valid_deterministic_branch(key in "\\PC{1,200}") {
            prop_assume!(!key.trim().is_empty());
            let p = Pattern::default();
            let a = for_branch(&key, &p).expect("branch");
            prop_assert!(check_ref(&a).is_ok());
            prop_assert_eq!(&a, &for_branch(&key, &p).expect("branch"));
            prop_assert!(a.len() <= "osp/".len() + MAX_SLUG + 1 + 8);
        }

        #[test]
        fn slug_ends_with_the_name(prefix in "[a-z0-9/-]{0,120}", name in "[a-z][a-z0-9-]{0,61}[a-z0-9]") {
            let key = format!("{prefix}/{name}");
            let s = slug(&key);
            prop_assert!(s.ends_with(&name.split('-').filter(|w| !w.is_empty()).collect::<Vec<_>>().join("-")), "`{}` lost `{}`", s, name);
            prop_assert!(s.len() <= MAX_SLUG);
        }

        #[test]
        fn slug_is_lowercase_ascii_without_edge_dashes(key in ".{0,100}") {
            let s = slug(&key);
            prop_assert!(!s.is_empty());
            prop_assert!(s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            prop_assert!(!s.starts_with('-') && !s.ends_with('-') && !s.contains("--"));
        }
    }
}
