//! A stateful fake GitLab on wiremock. Paths, parameters, bodies and errors
//! follow GitLab's documented REST API v4 for what a publication uses:
//! projects by URL-encoded full path, branches, raw files, the Commits API
//! (one call creates the branch from `start_branch` and applies every file
//! action), merge requests (one open per source branch: a second answers
//! 409) and users by username. Like GitLab, `create` on an existing file,
//! `update`/`delete` on a missing one, and a `start_branch` for a branch
//! that already exists answer 400.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use osp_sidecar::forge::retry::Policy;
use osp_sidecar::github::SecretSource;
use osp_sidecar::gitlab::{Client, ClientSettings};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

/// The project's full path (a subgroup, as GitLab allows).
pub const PROJECT: &str = "acme/platform/gitops";
pub const TOKEN: &str = "glpat-test-token-value";
pub const USERS: [(&str, u64); 2] = [("alice", 11), ("bob", 12)];
/// Alice's own OAuth token (RepoUrlPicker's `requestUserCredentials`).
pub const ALICE_TOKEN: &str = "alice-oauth-token";
/// The bot account the configured [`TOKEN`] belongs to.
pub const BOT: &str = "osp-bot";

#[derive(Debug, Clone)]
pub struct MergeRequest {
    pub iid: u64,
    pub source: String,
    pub target: String,
    pub title: String,
    pub description: String,
    pub labels: Vec<String>,
    pub reviewer_ids: Vec<u64>,
    pub state: String,
    /// Username of the token that opened it.
    pub author: String,
}

#[derive(Debug, Default)]
pub struct State {
    /// Commit id → files.
    pub commits: BTreeMap<String, BTreeMap<String, String>>,
    /// Branch → head commit id.
    pub branches: BTreeMap<String, String>,
    pub merge_requests: Vec<MergeRequest>,
    /// Commits API calls that changed a branch.
    pub commit_calls: u32,
    /// Username of the token behind each commit, in order.
    pub committers: Vec<String>,
    /// Answer each commit this late (after writing it): a lost answer.
    pub commit_delay: Option<Duration>,
    serial: u64,
}

#[derive(Clone)]
pub struct Fake {
    pub server: Arc<MockServer>,
    pub state: Arc<Mutex<State>>,
}

impl Fake {
    /// A GitLab whose project `PROJECT` holds `main` with one file.
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let mut state = State::default();
        let files = BTreeMap::from([("README.md".to_owned(), "# gitops\n".to_owned())]);
        let id = state.put(files);
        state.branches.insert("main".into(), id);
        let fake = Self {
            server: Arc::new(server),
            state: Arc::new(Mutex::new(state)),
        };
        Mock::given(any())
            .respond_with(Handler(fake.clone()))
            .with_priority(10)
            .mount(&fake.server)
            .await;
        fake
    }

    pub fn api_base(&self) -> String {
        format!("{}/api/v4", self.server.uri())
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("fake state")
    }

    /// The files on a branch.
    pub fn files(&self, branch: &str) -> BTreeMap<String, String> {
        let s = self.state();
        s.commits[&s.branches[branch]].clone()
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

    /// A client with [`TOKEN`] from a file and fast retries.
    pub fn client(&self, dir: &std::path::Path) -> Client {
        let token = dir.join("gitlab-token");
        std::fs::write(&token, format!("{TOKEN}\n")).expect("write token");
        let mut settings = ClientSettings::new(SecretSource::File(token));
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
    pub fn push(&self, branch: &str, path: &str, content: &str) {
        let mut s = self.state();
        let mut files = s.commits[&s.branches[branch]].clone();
        files.insert(path.into(), content.into());
        let id = s.put(files);
        s.branches.insert(branch.into(), id);
    }
}

impl State {
    fn put(&mut self, files: BTreeMap<String, String>) -> String {
        self.serial += 1;
        let id = format!("{:040x}", self.serial);
        self.commits.insert(id.clone(), files);
        id
    }
}

struct Handler(Fake);

fn reply(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

fn not_found(what: &str) -> ResponseTemplate {
    reply(404, json!({"message": format!("404 {what} Not Found")}))
}

/// Path segments after `/api/v4`, percent-decoded.
fn segments(req: &Request) -> Vec<String> {
    req.url
        .path()
        .trim_start_matches("/api/v4/")
        .split('/')
        .map(decode)
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query(req: &Request, key: &str) -> Option<String> {
    req.url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

impl Respond for Handler {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let bearer = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let private = req
            .headers
            .get("private-token")
            .and_then(|v| v.to_str().ok());
        let user = match bearer.or(private) {
            Some(TOKEN) => BOT,
            Some(ALICE_TOKEN) => "alice",
            _ => return reply(401, json!({"message": "401 Unauthorized"})),
        };
        let seg = segments(req);
        let method = req.method.as_str();
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        if seg.first().map(String::as_str) == Some("users") && method == "GET" {
            let name = query(req, "username").unwrap_or_default();
            let found: Vec<Value> = USERS
                .iter()
                .filter(|(u, _)| *u == name)
                .map(|(u, id)| json!({"id": id, "username": u}))
                .collect();
            return reply(200, json!(found));
        }
        if seg.first().map(String::as_str) != Some("projects")
            || seg.get(1).map(String::as_str) != Some(PROJECT)
        {
            return not_found("Project");
        }
        let rest: Vec<&str> = seg[2..].iter().map(String::as_str).collect();
        let mut s = self.0.state();
        match (method, rest.as_slice()) {
            ("GET", []) => reply(
                200,
                json!({"id": 7, "path_with_namespace": PROJECT, "default_branch": "main"}),
            ),
            ("GET", ["repository", "branches", branch]) => match s.branches.get(*branch) {
                Some(id) => reply(200, json!({"name": branch, "commit": {"id": id}})),
                None => not_found("Branch"),
            },
            ("GET", ["repository", "files", path, "raw"]) => {
                let reference = query(req, "ref").unwrap_or_default();
                let Some(id) = s.branches.get(&reference) else {
                    return not_found("Commit");
                };
                match s.commits[id].get(*path) {
                    Some(content) => ResponseTemplate::new(200)
                        .set_body_raw(content.clone().into_bytes(), "text/plain"),
                    None => not_found("File"),
                }
            }
            ("POST", ["repository", "commits"]) => {
                let out = commit(&mut s, &body);
                s.committers.push(user.to_owned());
                out
            }
            ("GET", ["merge_requests"]) => {
                let source = query(req, "source_branch");
                let state = query(req, "state");
                let found: Vec<Value> = s
                    .merge_requests
                    .iter()
                    .filter(|m| source.as_ref().is_none_or(|b| *b == m.source))
                    .filter(|m| state.as_ref().is_none_or(|st| *st == m.state))
                    .map(|m| self.json(m))
                    .collect();
                reply(200, json!(found))
            }
            ("POST", ["merge_requests"]) => {
                let source = body["source_branch"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                if let Some(m) = s
                    .merge_requests
                    .iter()
                    .find(|m| m.source == source && m.state == "opened")
                {
                    return reply(
                        409,
                        json!({"message": [format!("Another open merge request already exists for this source branch: !{}", m.iid)]}),
                    );
                }
                if !s.branches.contains_key(&source) {
                    return reply(422, json!({"message": ["Source branch does not exist"]}));
                }
                let m = MergeRequest {
                    iid: s.merge_requests.len() as u64 + 1,
                    source,
                    target: body["target_branch"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    title: body["title"].as_str().unwrap_or_default().to_owned(),
                    description: body["description"].as_str().unwrap_or_default().to_owned(),
                    labels: labels(&body["labels"]),
                    reviewer_ids: body["reviewer_ids"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_u64)
                        .collect(),
                    state: "opened".into(),
                    author: user.to_owned(),
                };
                let out = self.json(&m);
                s.merge_requests.push(m);
                reply(201, out)
            }
            ("PUT", ["merge_requests", iid]) => {
                let iid: u64 = iid.parse().unwrap_or_default();
                let Some(m) = s.merge_requests.iter_mut().find(|m| m.iid == iid) else {
                    return not_found("Merge Request");
                };
                if let Some(t) = body["title"].as_str() {
                    m.title = t.into();
                }
                if let Some(d) = body["description"].as_str() {
                    m.description = d.into();
                }
                for l in labels(&body["add_labels"]) {
                    if !m.labels.contains(&l) {
                        m.labels.push(l);
                    }
                }
                let m = m.clone();
                reply(200, self.json(&m))
            }
            _ => reply(404, json!({"error": "404 Not Found"})),
        }
    }
}

impl Handler {
    fn json(&self, m: &MergeRequest) -> Value {
        json!({
            "iid": m.iid, "source_branch": m.source, "target_branch": m.target,
            "title": m.title, "description": m.description, "labels": m.labels,
            "state": m.state, "draft": m.title.starts_with("Draft:"),
            "web_url": format!("{}/{PROJECT}/-/merge_requests/{}", self.0.server.uri(), m.iid),
        })
    }
}

fn labels(v: &Value) -> Vec<String> {
    v.as_str()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `POST /projects/:id/repository/commits`, as GitLab validates it.
fn commit(s: &mut State, body: &Value) -> ResponseTemplate {
    let branch = body["branch"].as_str().unwrap_or_default().to_owned();
    let start = body["start_branch"].as_str();
    let from = match (s.branches.get(&branch), start) {
        (Some(_), Some(start)) if start != branch => {
            return reply(
                400,
                json!({"message": format!("A branch called '{branch}' already exists. Switch to that branch in order to make changes")}),
            );
        }
        (Some(id), _) => id.clone(),
        (None, Some(start)) => match s.branches.get(start) {
            Some(id) => id.clone(),
            None => {
                return reply(
                    400,
                    json!({"message": "You can only create or edit files when you are on a branch"}),
                );
            }
        },
        (None, None) => {
            return reply(
                400,
                json!({"message": "You can only create or edit files when you are on a branch"}),
            );
        }
    };
    let mut files = s.commits[&from].clone();
    for a in body["actions"].as_array().into_iter().flatten() {
        let path = a["file_path"].as_str().unwrap_or_default().to_owned();
        let exists = files.contains_key(&path);
        match (a["action"].as_str().unwrap_or_default(), exists) {
            ("create", true) => {
                return reply(
                    400,
                    json!({"message": "A file with this name already exists"}),
                );
            }
            ("update" | "delete", false) => {
                return reply(
                    400,
                    json!({"message": "A file with this name doesn't exist"}),
                );
            }
            ("create" | "update", _) => {
                files.insert(path, a["content"].as_str().unwrap_or_default().to_owned());
            }
            ("delete", _) => {
                files.remove(&path);
            }
            (other, _) => {
                return reply(
                    400,
                    json!({"message": format!("action `{other}` is not supported")}),
                );
            }
        }
    }
    let id = s.put(files);
    s.branches.insert(branch, id.clone());
    s.commit_calls += 1;
    let out = reply(
        201,
        json!({"id": id, "short_id": &id[..8], "message": body["commit_message"]}),
    );
    match s.commit_delay {
        Some(d) => out.set_delay(d),
        None => out,
    }
}
