//! A stateful fake GitHub on wiremock. Request and response bodies follow
//! GitHub's documented REST API (v2022-11-28) for the endpoints a
//! publication uses: repository, branches, contents, git trees/commits/refs,
//! pulls, issue labels, requested reviewers and app installation tokens.
//! Object SHAs are content hashes, so an identical tree gets the same SHA,
//! as on GitHub.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine;
use osp_sidecar::github::retry::Policy;
use osp_sidecar::github::{Client, ClientSettings, Credentials, SecretSource};
use serde_json::{Value, json};
use std::time::Duration;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

pub const OWNER: &str = "acme";
pub const REPO: &str = "gitops";
pub const TOKEN: &str = "ghp_test_token_value";

#[derive(Debug, Clone)]
pub struct Commit {
    pub tree: String,
    pub parents: Vec<String>,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Pull {
    pub number: u64,
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
    pub draft: bool,
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
}

#[derive(Debug, Default)]
pub struct State {
    pub trees: HashMap<String, BTreeMap<String, String>>,
    pub commits: HashMap<String, Commit>,
    pub refs: BTreeMap<String, String>,
    pub pulls: Vec<Pull>,
    /// Accepted bearer tokens; installation tokens are added when minted.
    pub tokens: Vec<String>,
    pub minted: u32,
    /// Lifetime of minted installation tokens, in seconds.
    pub token_lifetime: i64,
    serial: u64,
}

#[derive(Clone)]
pub struct Fake {
    pub server: Arc<MockServer>,
    pub state: Arc<Mutex<State>>,
    /// Path prefix of the API, e.g. `/api/v3` for GHE.
    pub prefix: String,
}

impl Fake {
    /// A GitHub at `prefix` with `acme/gitops` holding `main` with one file.
    pub async fn start(prefix: &str) -> Self {
        let server = MockServer::start().await;
        let mut state = State {
            tokens: vec![TOKEN.into()],
            token_lifetime: 3600,
            ..State::default()
        };
        let files = BTreeMap::from([("README.md".to_owned(), "# gitops\n".to_owned())]);
        let tree = state.put_tree(files);
        let commit = state.put_commit(Commit {
            tree,
            parents: vec![],
            message: "init".into(),
        });
        state.refs.insert("main".into(), commit);
        let fake = Self {
            server: Arc::new(server),
            state: Arc::new(Mutex::new(state)),
            prefix: prefix.to_owned(),
        };
        Mock::given(any())
            .respond_with(Handler(fake.clone()))
            .with_priority(10)
            .mount(&fake.server)
            .await;
        fake
    }

    pub fn api_base(&self) -> String {
        format!("{}{}", self.server.uri(), self.prefix)
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("fake state")
    }

    /// The files on a branch.
    pub fn files(&self, branch: &str) -> BTreeMap<String, String> {
        let s = self.state();
        let commit = &s.commits[&s.refs[branch]];
        s.trees[&commit.tree].clone()
    }

    /// Requests received so far, as `METHOD path`.
    pub async fn requests(&self) -> Vec<String> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| format!("{} {}", r.method, r.url.path()))
            .collect()
    }

    /// A client for this fake, authenticated with [`TOKEN`] from a file,
    /// with fast retries.
    pub fn client(&self, dir: &std::path::Path) -> Client {
        let token = dir.join("token");
        std::fs::write(&token, format!("{TOKEN}\n")).expect("write token");
        self.client_with(Credentials::Token(SecretSource::File(token)))
    }

    pub fn client_with(&self, credentials: Credentials) -> Client {
        let mut settings = ClientSettings::new(credentials);
        settings.api_base = self.api_base();
        settings.retry = Policy {
            max_attempts: 3,
            max_wait: Duration::from_secs(5),
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        };
        settings.request_timeout = Duration::from_secs(2);
        Client::new(settings).expect("client")
    }

    /// Pushes a commit onto a branch, as another user would.
    pub fn push(&self, branch: &str, path: &str, content: &str) -> String {
        let mut s = self.state();
        let head = s.refs[branch].clone();
        let mut files = s.trees[&s.commits[&head].tree].clone();
        files.insert(path.into(), content.into());
        let tree = s.put_tree(files);
        let sha = s.put_commit(Commit {
            tree,
            parents: vec![head],
            message: "pushed by someone else".into(),
        });
        s.refs.insert(branch.into(), sha.clone());
        sha
    }
}

impl State {
    fn next(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    fn put_tree(&mut self, files: BTreeMap<String, String>) -> String {
        let sha = sha(&serde_json::to_string(&files).unwrap_or_default());
        self.trees.insert(sha.clone(), files);
        sha
    }

    fn put_commit(&mut self, commit: Commit) -> String {
        let n = self.next();
        let sha = sha(&format!(
            "{}{:?}{}{n}",
            commit.tree, commit.parents, commit.message
        ));
        self.commits.insert(sha.clone(), commit);
        sha
    }

    fn is_ancestor(&self, ancestor: &str, of: &str) -> bool {
        let mut stack = vec![of.to_owned()];
        while let Some(c) = stack.pop() {
            if c == ancestor {
                return true;
            }
            if let Some(commit) = self.commits.get(&c) {
                stack.extend(commit.parents.iter().cloned());
            }
        }
        false
    }
}

/// 40 hex digits derived from the input (not SHA-1; stable within a run).
fn sha(input: &str) -> String {
    let mut out = String::new();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for round in 0u8..3 {
        for b in input.bytes().chain([round]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        out.push_str(&format!("{h:016x}"));
    }
    out.truncate(40);
    out
}

fn error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
        "status": status.to_string(),
    }))
}

fn validation(message: &str) -> ResponseTemplate {
    ResponseTemplate::new(422).set_body_json(json!({
        "message": "Validation Failed",
        "errors": [{"resource": "PullRequest", "code": "custom", "message": message}],
        "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
        "status": "422",
    }))
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| u8::from_str_radix(&s[i + 1..i + 3], 16).ok())
            .flatten();
        if let Some(b) = hex {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub struct Handler(pub Fake);

/// The fake's answer, sent only after `delay` (to outlast client timeouts).
pub struct Delayed(pub Fake, pub Duration);

impl Respond for Delayed {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        Handler(self.0.clone()).respond(req).set_delay(self.1)
    }
}

impl Respond for Handler {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let fake = &self.0;
        let Some(path) = req.url.path().strip_prefix(&fake.prefix) else {
            return error(404, "Not Found");
        };
        let path = decode(path);
        let method = req.method.as_str().to_owned();
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let query: HashMap<String, String> = req.url.query_pairs().into_owned().collect();
        let auth = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mut s = fake.state();
        if let Some(rest) = path.strip_prefix("/app/installations/") {
            let jwt = auth.strip_prefix("Bearer ").unwrap_or_default();
            if method != "POST" || !rest.ends_with("/access_tokens") || jwt.split('.').count() != 3
            {
                return error(401, "A JSON web token could not be decoded");
            }
            s.minted += 1;
            let token = format!("ghs_installation_{}", s.minted);
            s.tokens.push(token.clone());
            let expires = chrono::Utc::now() + chrono::Duration::seconds(s.token_lifetime);
            return ResponseTemplate::new(201).set_body_json(json!({
                "token": token,
                "expires_at": expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "permissions": {"contents": "write", "pull_requests": "write"},
                "repository_selection": "selected",
            }));
        }
        let token = auth.strip_prefix("Bearer ").unwrap_or_default();
        if !s.tokens.iter().any(|t| t == token) {
            return error(401, "Bad credentials");
        }
        let repo_prefix = format!("/repos/{OWNER}/{REPO}");
        let Some(rest) = path.strip_prefix(&repo_prefix) else {
            return error(404, "Not Found");
        };
        route(&mut s, &method, rest, &query, &body)
    }
}

fn route(
    s: &mut State,
    method: &str,
    rest: &str,
    query: &HashMap<String, String>,
    body: &Value,
) -> ResponseTemplate {
    match (method, rest) {
        ("GET", "") => ResponseTemplate::new(200).set_body_json(json!({
            "id": 1, "name": REPO, "full_name": format!("{OWNER}/{REPO}"),
            "default_branch": "main", "private": true,
        })),
        ("GET", r) if r.starts_with("/branches/") => {
            let name = &r["/branches/".len()..];
            let Some(sha) = s.refs.get(name) else {
                return error(404, "Branch not found");
            };
            let c = &s.commits[sha];
            ResponseTemplate::new(200).set_body_json(json!({
                "name": name,
                "commit": {
                    "sha": sha,
                    "commit": {"message": c.message, "tree": {"sha": c.tree}},
                    "parents": c.parents.iter().map(|p| json!({"sha": p})).collect::<Vec<_>>(),
                },
                "protected": false,
            }))
        }
        ("GET", r) if r.starts_with("/contents/") => {
            let path = &r["/contents/".len()..];
            let Some(commit) = query.get("ref").and_then(|sha| s.commits.get(sha)) else {
                return error(404, "No commit found for the ref");
            };
            match s.trees[&commit.tree].get(path) {
                None => error(404, "Not Found"),
                Some(content) => ResponseTemplate::new(200).set_body_json(json!({
                    "type": "file", "encoding": "base64", "path": path,
                    "name": path.rsplit('/').next(), "size": content.len(),
                    "sha": sha(content),
                    "content": base64::engine::general_purpose::STANDARD.encode(content),
                })),
            }
        }
        ("POST", "/git/trees") => create_tree(s, body),
        ("POST", "/git/commits") => {
            let tree = body["tree"].as_str().unwrap_or_default().to_owned();
            if !s.trees.contains_key(&tree) {
                return error(422, "Tree SHA does not exist");
            }
            let parents: Vec<String> = body["parents"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| p.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let message = body["message"].as_str().unwrap_or_default().to_owned();
            let sha = s.put_commit(Commit {
                tree: tree.clone(),
                parents: parents.clone(),
                message: message.clone(),
            });
            ResponseTemplate::new(201).set_body_json(json!({
                "sha": sha, "message": message, "tree": {"sha": tree},
                "parents": parents.iter().map(|p| json!({"sha": p})).collect::<Vec<_>>(),
                "verification": {"verified": false, "reason": "unsigned"},
            }))
        }
        ("POST", "/git/refs") => {
            let name = body["ref"].as_str().unwrap_or_default();
            let sha = body["sha"].as_str().unwrap_or_default().to_owned();
            let Some(branch) = name.strip_prefix("refs/heads/") else {
                return error(422, "Reference name is invalid");
            };
            if s.refs.contains_key(branch) {
                return error(422, "Reference already exists");
            }
            s.refs.insert(branch.to_owned(), sha.clone());
            ResponseTemplate::new(201)
                .set_body_json(json!({"ref": name, "object": {"sha": sha, "type": "commit"}}))
        }
        ("PATCH", r) if r.starts_with("/git/refs/heads/") => {
            let branch = &r["/git/refs/heads/".len()..];
            let sha = body["sha"].as_str().unwrap_or_default().to_owned();
            let force = body["force"].as_bool().unwrap_or(false);
            let Some(old) = s.refs.get(branch).cloned() else {
                return error(422, "Reference does not exist");
            };
            if !force && !s.is_ancestor(&old, &sha) {
                return error(422, "Update is not a fast forward");
            }
            s.refs.insert(branch.to_owned(), sha.clone());
            ResponseTemplate::new(200).set_body_json(json!({
                "ref": format!("refs/heads/{branch}"), "object": {"sha": sha, "type": "commit"},
            }))
        }
        ("GET", "/pulls") => {
            let head = query.get("head").cloned().unwrap_or_default();
            let open: Vec<Value> = s
                .pulls
                .iter()
                .filter(|p| format!("{OWNER}:{}", p.head) == head || head.is_empty())
                .map(pull_json)
                .collect();
            ResponseTemplate::new(200).set_body_json(Value::Array(open))
        }
        ("POST", "/pulls") => {
            let head = body["head"].as_str().unwrap_or_default().to_owned();
            let base = body["base"].as_str().unwrap_or_default().to_owned();
            if s.pulls.iter().any(|p| p.head == head) {
                return validation(&format!(
                    "A pull request already exists for {OWNER}:{head}."
                ));
            }
            if !s.refs.contains_key(&head) || !s.refs.contains_key(&base) {
                return validation("head or base does not exist");
            }
            let pull = Pull {
                number: s.pulls.len() as u64 + 1,
                head,
                base,
                title: body["title"].as_str().unwrap_or_default().into(),
                body: body["body"].as_str().unwrap_or_default().into(),
                draft: body["draft"].as_bool().unwrap_or(false),
                labels: vec![],
                reviewers: vec![],
            };
            let out = pull_json(&pull);
            s.pulls.push(pull);
            ResponseTemplate::new(201).set_body_json(out)
        }
        (m, r) if r.starts_with("/pulls/") || r.starts_with("/issues/") => {
            let mut parts = r.trim_start_matches('/').split('/').skip(1);
            let number: u64 = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            let tail = parts.next().unwrap_or("");
            let Some(pull) = s.pulls.iter_mut().find(|p| p.number == number) else {
                return error(404, "Not Found");
            };
            match (m, r.starts_with("/issues/"), tail) {
                ("PATCH", false, "") => {
                    if let Some(t) = body["title"].as_str() {
                        pull.title = t.into();
                    }
                    if let Some(b) = body["body"].as_str() {
                        pull.body = b.into();
                    }
                    ResponseTemplate::new(200).set_body_json(pull_json(pull))
                }
                ("POST", true, "labels") => {
                    for l in body["labels"].as_array().into_iter().flatten() {
                        let l = l.as_str().unwrap_or_default().to_owned();
                        if !pull.labels.contains(&l) {
                            pull.labels.push(l);
                        }
                    }
                    let labels: Vec<Value> = pull
                        .labels
                        .iter()
                        .map(|l| json!({"name": l, "color": "ededed"}))
                        .collect();
                    ResponseTemplate::new(200).set_body_json(Value::Array(labels))
                }
                ("POST", false, "requested_reviewers") => {
                    for r in body["reviewers"].as_array().into_iter().flatten() {
                        pull.reviewers.push(r.as_str().unwrap_or_default().into());
                    }
                    ResponseTemplate::new(201).set_body_json(pull_json(pull))
                }
                _ => error(404, "Not Found"),
            }
        }
        _ => error(404, "Not Found"),
    }
}

fn create_tree(s: &mut State, body: &Value) -> ResponseTemplate {
    let base = body["base_tree"].as_str().unwrap_or_default();
    let Some(mut files) = s.trees.get(base).cloned() else {
        return error(422, "Invalid tree info");
    };
    for e in body["tree"].as_array().into_iter().flatten() {
        let path = e["path"].as_str().unwrap_or_default().to_owned();
        match (e.get("content").and_then(Value::as_str), e.get("sha")) {
            (Some(content), _) => {
                files.insert(path, content.to_owned());
            }
            (None, Some(Value::Null)) => {
                if files.remove(&path).is_none() {
                    return error(422, "GitRPC::BadObjectState");
                }
            }
            _ => return error(422, "Must supply either tree.sha or tree.content"),
        }
    }
    let entries: Vec<Value> = files
        .iter()
        .map(|(p, c)| json!({"path": p, "mode": "100644", "type": "blob", "sha": sha(c), "size": c.len()}))
        .collect();
    let sha = s.put_tree(files);
    ResponseTemplate::new(201)
        .set_body_json(json!({"sha": sha, "tree": entries, "truncated": false}))
}

fn pull_json(p: &Pull) -> Value {
    json!({
        "number": p.number,
        "html_url": format!("https://github.com/{OWNER}/{REPO}/pull/{}", p.number),
        "state": "open",
        "title": p.title,
        "body": p.body,
        "draft": p.draft,
        "head": {"ref": p.head, "label": format!("{OWNER}:{}", p.head)},
        "base": {"ref": p.base},
        "labels": p.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
        "requested_reviewers": p.reviewers.iter().map(|r| json!({"login": r})).collect::<Vec<_>>(),
    })
}
