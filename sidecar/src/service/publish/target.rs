//! Publishing targets from configuration: GitHub (github.com or GHE, token
//! or App), GitLab (gitlab.com or self-managed, token) and named local Git
//! repositories, plus the layout they share.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use osp::publish::{Layout, Plan, Published, branch};
use serde::Deserialize;

use crate::errors::Error;
use crate::forge::PullRequest;
use crate::github::{self, Credentials};
use crate::secret::SecretSource;
use crate::{gitlab, gitlocal};

/// The `publish:` section of the sidecar configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublishConfig {
    /// Folder every written path must lie under; empty means anywhere.
    #[serde(default)]
    pub base: String,
    /// Branch name pattern with `{key-slug}` and `{hash}` [default: `osp/{key-slug}-{hash}`].
    pub branch_pattern: Option<String>,
    /// GitHub target; absent means GitHub publishing is off.
    pub github: Option<GitHubConfig>,
    /// GitLab target; absent means GitLab publishing is off.
    pub gitlab: Option<GitLabConfig>,
    /// Generated Templates ask the user to sign in to the forge in the
    /// repository picker and publish with their own token [default: false;
    /// needs Backstage's GitHub/GitLab auth provider for each host].
    #[serde(default)]
    pub request_user_credentials: bool,
    /// Local Git repositories by the name requests use as `repository`.
    #[serde(default)]
    pub local: BTreeMap<String, PathBuf>,
}

/// How to reach GitHub. Exactly one of a token (`tokenFile`/`tokenEnv`) or
/// an App (`appId`, `installationId`, `privateKeyFile`/`privateKeyEnv`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitHubConfig {
    /// API base URL [default: `https://api.github.com`; GHE: `https://HOST/api/v3`].
    pub api_base: Option<String>,
    /// File holding a token.
    pub token_file: Option<PathBuf>,
    /// Environment variable holding a token.
    pub token_env: Option<String>,
    /// GitHub App ID.
    pub app_id: Option<u64>,
    /// GitHub App installation ID.
    pub installation_id: Option<u64>,
    /// File holding the App's PEM private key.
    pub private_key_file: Option<PathBuf>,
    /// Environment variable holding the App's PEM private key.
    pub private_key_env: Option<String>,
    /// Longest wait for one response, in milliseconds [default: 20000].
    pub request_timeout_ms: Option<u64>,
    /// Attempts per request, retries included [default: 4].
    pub max_attempts: Option<u32>,
    /// Longest total wait between retries of one request, in ms [default: 30000].
    pub max_wait_ms: Option<u64>,
}

/// How to reach GitLab: a personal, project, group or OAuth token with the
/// `api` scope (Developer role on the projects).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitLabConfig {
    /// API base URL [default: `https://gitlab.com/api/v4`; self-managed: `https://HOST/api/v4`].
    pub api_base: Option<String>,
    /// Host requests name (RepoUrlPicker's `host`) [default: the API base's host].
    pub host: Option<String>,
    /// File holding the token.
    pub token_file: Option<PathBuf>,
    /// Environment variable holding the token.
    pub token_env: Option<String>,
    /// Longest wait for one response, in milliseconds [default: 20000].
    pub request_timeout_ms: Option<u64>,
    /// Attempts per request, retries included [default: 4].
    pub max_attempts: Option<u32>,
    /// Longest total wait between retries of one request, in ms [default: 30000].
    pub max_wait_ms: Option<u64>,
}

impl PublishConfig {
    /// Hosts of the configured forges, as RepoUrlPicker's `allowedHosts`
    /// (the GitHub one first); empty when no forge is configured.
    pub(crate) fn hosts(&self) -> Vec<String> {
        let github = self.github.as_ref().map(|g| {
            let base = g.api_base.as_deref().unwrap_or(github::DEFAULT_API_BASE);
            match authority(base).as_deref() {
                // github.com's API lives on its own host.
                Some("api.github.com") | None => "github.com".to_owned(),
                Some(host) => host.to_owned(),
            }
        });
        let gitlab = self.gitlab.as_ref().and_then(GitLabConfig::host);
        github.into_iter().chain(gitlab).collect()
    }
}

impl GitLabConfig {
    /// The host requests name this GitLab by: `host`, else the API base's.
    fn host(&self) -> Option<String> {
        self.host
            .clone()
            .or_else(|| authority(self.api_base.as_deref().unwrap_or(gitlab::DEFAULT_API_BASE)))
    }
}

/// The `host[:port]` of a URL.
fn authority(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    uri.authority().map(|a| a.to_string())
}

/// A configured GitLab and the host requests name it by.
#[derive(Debug, Clone)]
struct GitLab {
    host: String,
    client: Arc<gitlab::Client>,
}

/// Where a request goes.
#[derive(Debug, Clone)]
pub(crate) struct Publisher {
    layout: Layout,
    github: Option<Arc<github::Client>>,
    gitlab: Option<GitLab>,
    local: BTreeMap<String, PathBuf>,
}

impl Publisher {
    /// Checks the configuration and builds the clients (inside a Tokio runtime).
    pub(crate) fn new(config: &PublishConfig) -> Result<Self, String> {
        let branch = match &config.branch_pattern {
            Some(p) => branch::Pattern::new(p).map_err(|e| e.to_string())?,
            None => branch::Pattern::default(),
        };
        let github = match &config.github {
            Some(g) => Some(Arc::new(
                github::Client::new(settings(g)?).map_err(|e| e.to_string())?,
            )),
            None => None,
        };
        let gitlab = config.gitlab.as_ref().map(for_gitlab).transpose()?;
        Ok(Self {
            layout: Layout {
                base: config.base.clone(),
                branch,
            },
            github,
            gitlab,
            local: config.local.clone(),
        })
    }

    /// The layout requests are checked against.
    pub(crate) fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Publishes a plan to the target `repository` names: a local target by
    /// that name, else GitLab when `host` is its host, else GitHub.
    pub(crate) async fn publish(
        &self,
        host: &str,
        repository: &str,
        base_branch: &str,
        plan: &Plan,
        pr: &PullRequest,
    ) -> Result<Published, Error> {
        if let Some(path) = self.local.get(repository) {
            let (path, base, plan) = (path.clone(), base_branch.to_owned(), plan.clone());
            return tokio::task::spawn_blocking(move || gitlocal::publish(&path, &base, &plan))
                .await
                .map_err(|e| Error::Unavailable(format!("local publish task failed: {e}")))?
                .map_err(Error::from);
        }
        if let Some(g) = self.gitlab.as_ref().filter(|g| g.host == host) {
            return Ok(g.client.publish(repository, base_branch, plan, pr).await?);
        }
        match &self.github {
            Some(client) => Ok(client.publish(repository, base_branch, plan, pr).await?),
            None => Err(Error::FailedPrecondition(format!(
                "no publish target for repository `{repository}`{}: configure `publish.github`, `publish.gitlab` or `publish.local.{repository}`",
                match host {
                    "" => String::new(),
                    h => format!(" on host `{h}`"),
                }
            ))),
        }
    }
}

/// The GitLab client and the host requests name it by.
fn for_gitlab(g: &GitLabConfig) -> Result<GitLab, String> {
    let Some(token) = source(&g.token_file, &g.token_env, "publish.gitlab", "token")? else {
        return Err("publish.gitlab: configure a token (`tokenFile` or `tokenEnv`)".into());
    };
    let mut s = gitlab::ClientSettings::new(token);
    if let Some(base) = &g.api_base {
        s.api_base = base.trim_end_matches('/').to_owned();
    }
    if let Some(ms) = g.request_timeout_ms {
        s.request_timeout = Duration::from_millis(ms);
    }
    if let Some(n) = g.max_attempts {
        s.retry.max_attempts = n.max(1);
    }
    if let Some(ms) = g.max_wait_ms {
        s.retry.max_wait = Duration::from_millis(ms);
    }
    let host = g
        .host()
        .ok_or_else(|| format!("publish.gitlab.apiBase: `{}` is not a URL", s.api_base))?;
    let client = gitlab::Client::new(s).map_err(|e| format!("publish.gitlab: {e}"))?;
    Ok(GitLab {
        host,
        client: Arc::new(client),
    })
}

/// A secret from a file or an environment variable, at most one of them.
fn source(
    file: &Option<PathBuf>,
    env: &Option<String>,
    section: &str,
    what: &str,
) -> Result<Option<SecretSource>, String> {
    match (file, env) {
        (Some(f), None) => Ok(Some(SecretSource::File(f.clone()))),
        (None, Some(e)) => Ok(Some(SecretSource::Env(e.clone()))),
        (None, None) => Ok(None),
        _ => {
            let (file_key, env_key) = match what {
                "token" => ("tokenFile", "tokenEnv"),
                _ => ("privateKeyFile", "privateKeyEnv"),
            };
            Err(format!(
                "{section}: set one of `{file_key}` and `{env_key}`"
            ))
        }
    }
}

fn settings(g: &GitHubConfig) -> Result<github::ClientSettings, String> {
    let token = source(&g.token_file, &g.token_env, "publish.github", "token")?;
    let key = source(
        &g.private_key_file,
        &g.private_key_env,
        "publish.github",
        "key",
    )?;
    let credentials = match (token, g.app_id, g.installation_id, key) {
        (Some(t), None, None, None) => Credentials::Token(t),
        (None, Some(app_id), Some(installation_id), Some(private_key)) => Credentials::App {
            app_id,
            installation_id,
            private_key,
        },
        _ => {
            return Err(
                "publish.github: configure a token (`tokenFile` or `tokenEnv`) or an app (`appId`, `installationId`, `privateKeyFile` or `privateKeyEnv`)"
                    .into(),
            );
        }
    };
    let mut s = github::ClientSettings::new(credentials);
    if let Some(base) = &g.api_base {
        s.api_base = base.trim_end_matches('/').to_owned();
    }
    if let Some(ms) = g.request_timeout_ms {
        s.request_timeout = Duration::from_millis(ms);
    }
    if let Some(n) = g.max_attempts {
        s.retry.max_attempts = n.max(1);
    }
    if let Some(ms) = g.max_wait_ms {
        s.retry.max_wait = Duration::from_millis(ms);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn checks_github_credentials() {
        struct Case {
            reason: &'static str,
            yaml: &'static str,
            ok: bool,
        }
        let cases = [
            Case {
                reason: "token from a file",
                yaml: "github: {tokenFile: /t}",
                ok: true,
            },
            Case {
                reason: "app with key from env on GHE",
                yaml: "github: {apiBase: 'https://ghe.example.com/api/v3', appId: 1, installationId: 2, privateKeyEnv: KEY}",
                ok: true,
            },
            Case {
                reason: "token and app at once",
                yaml: "github: {tokenEnv: T, appId: 1, installationId: 2, privateKeyEnv: KEY}",
                ok: false,
            },
            Case {
                reason: "app without installation",
                yaml: "github: {appId: 1, privateKeyFile: /k}",
                ok: false,
            },
            Case {
                reason: "branch pattern without hash",
                yaml: "branchPattern: 'osp/{key-slug}'\nlocal: {gitops: /repo}",
                ok: false,
            },
            Case {
                reason: "gitlab with a token",
                yaml: "gitlab: {apiBase: 'https://gitlab.example.org/api/v4', tokenEnv: GL}",
                ok: true,
            },
            Case {
                reason: "gitlab without a token",
                yaml: "gitlab: {apiBase: 'https://gitlab.example.org/api/v4'}",
                ok: false,
            },
            Case {
                reason: "gitlab with two token sources",
                yaml: "gitlab: {tokenEnv: GL, tokenFile: /t}",
                ok: false,
            },
            Case {
                reason: "local only",
                yaml: "base: clusters\nlocal: {gitops: /repo}",
                ok: true,
            },
        ];
        for c in cases {
            let config: PublishConfig = serde_saphyr::from_str(c.yaml).expect(c.reason);
            assert_eq!(Publisher::new(&config).is_ok(), c.ok, "{}", c.reason);
        }
    }

    #[test]
    fn the_repository_picker_offers_the_configured_forges() {
        let cases = [
            ("github: {tokenEnv: T}", vec!["github.com"]),
            (
                "github: {tokenEnv: T, apiBase: 'https://ghe.example.com/api/v3'}\ngitlab: {tokenEnv: G}",
                vec!["ghe.example.com", "gitlab.com"],
            ),
            (
                "gitlab: {tokenEnv: G, apiBase: 'http://10.0.0.5:8080/api/v4', host: gitlab.example.org}",
                vec!["gitlab.example.org"],
            ),
            ("local: {gitops: /repo}", vec![]),
        ];
        for (yaml, want) in cases {
            let config: PublishConfig = serde_saphyr::from_str(yaml).expect(yaml);
            assert_eq!(config.hosts(), want, "{yaml}");
        }
    }
}
