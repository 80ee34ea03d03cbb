//! `osp publish`: files to a pull request on GitHub, or to a branch in a
//! local Git repository, through the same code as `PublishService`. Prints
//! the result as JSON.
use std::path::PathBuf;
use std::process::ExitCode;

use tonic::Code;

use crate::config::FileConfig;
use crate::pb;
use crate::service::State;
use crate::service::publish::{GitHubConfig, Publish, PublishConfig};

/// `osp publish` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Target repository: `owner/name` on GitHub (or the local target's name).
    #[arg(long)]
    pub repository: String,
    /// Base branch [default: the repository's default branch, or `HEAD` locally].
    #[arg(long, default_value = "")]
    pub base_branch: String,
    /// Idempotency key, e.g. `claim/team-a/db1`; the branch derives from it.
    #[arg(long)]
    pub key: String,
    /// A file to write, `REPO_PATH=LOCAL_FILE` (repeatable; `-` reads stdin).
    #[arg(long = "file", value_name = "REPO_PATH=LOCAL_FILE")]
    pub files: Vec<String>,
    /// A repository path to delete (repeatable).
    #[arg(long = "delete", value_name = "REPO_PATH")]
    pub deletes: Vec<String>,
    /// Pull request title [default: `osp: KEY`].
    #[arg(long, default_value = "")]
    pub title: String,
    /// Pull request body (Markdown).
    #[arg(long, default_value = "")]
    pub body: String,
    /// Label to add (repeatable).
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Login to request a review from (repeatable).
    #[arg(long = "reviewer")]
    pub reviewers: Vec<String>,
    /// Open the pull request as a draft.
    #[arg(long)]
    pub draft: bool,
    /// Keep each folder's `kustomization.yaml` up to date.
    #[arg(long)]
    pub kustomization: bool,
    /// Forge host (`gitlab.example.org`): the configured GitLab when it is
    /// its host, else GitHub.
    #[arg(long, default_value = "")]
    pub host: String,
    /// Commit to the local repository at this path instead of GitHub.
    #[arg(long)]
    pub local: Option<PathBuf>,
    /// Sidecar config file; its `publish` section is the starting point.
    #[arg(long, env = "OSP_CONFIG")]
    pub config: Option<PathBuf>,
    /// GitHub API base, e.g. `https://ghe.example.com/api/v3`.
    #[arg(long)]
    pub api_base: Option<String>,
    /// File holding the GitHub token.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Environment variable holding the GitHub token [default: `GITHUB_TOKEN` when no other credential is configured].
    #[arg(long)]
    pub token_env: Option<String>,
    /// Folder every written path must lie under.
    #[arg(long)]
    pub base: Option<String>,
    /// Branch name pattern with `{key-slug}` and `{hash}`.
    #[arg(long)]
    pub branch_pattern: Option<String>,
}

/// Runs the command: 0 on success, 1 when publishing failed, 2 on bad input.
pub(crate) fn run(args: Args) -> ExitCode {
    let (config, request) = match inputs(&args) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("osp: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("osp: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        Publish::new(State::default(), &config)
            .create(request)
            .await
            .map_err(tonic::Status::from)
    });
    match result {
        Ok(out) => {
            let json = serde_json::json!({
                "changeKind": out.change_kind().as_str_name(),
                "url": out.url, "number": out.number, "branch": out.branch,
                "commitSha": out.commit_sha, "created": out.created,
                "unchanged": out.unchanged, "requestCount": out.request_count,
            });
            println!("{json:#}");
            ExitCode::SUCCESS
        }
        Err(status) => {
            eprintln!("osp: {:?}: {}", status.code(), status.message());
            match status.code() {
                Code::InvalidArgument => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

fn inputs(args: &Args) -> Result<(PublishConfig, pb::CreatePullRequestRequest), String> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
            let file: FileConfig = serde_saphyr::from_str(&text)
                .map_err(|e| format!("invalid config file `{}`: {e}", path.display()))?;
            file.publish.unwrap_or_default()
        }
        None => PublishConfig::default(),
    };
    if let Some(base) = &args.base {
        config.base = base.clone();
    }
    if let Some(p) = &args.branch_pattern {
        config.branch_pattern = Some(p.clone());
    }
    match &args.local {
        Some(path) => {
            config.local.insert(args.repository.clone(), path.clone());
        }
        None => {
            let github = config.github.get_or_insert_with(GitHubConfig::default);
            if args.api_base.is_some() {
                github.api_base = args.api_base.clone();
            }
            if args.token_file.is_some() || args.token_env.is_some() {
                github.token_file = args.token_file.clone();
                github.token_env = args.token_env.clone();
            }
            let no_credential = github.token_file.is_none()
                && github.token_env.is_none()
                && github.app_id.is_none();
            if no_credential {
                github.token_env = Some("GITHUB_TOKEN".into());
            }
        }
    }
    let mut files = Vec::new();
    for spec in &args.files {
        let (path, local) = spec
            .split_once('=')
            .ok_or_else(|| format!("`--file {spec}`: expected `REPO_PATH=LOCAL_FILE`"))?;
        let content = if local == "-" {
            std::io::read_to_string(std::io::stdin())
        } else {
            std::fs::read_to_string(local)
        }
        .map_err(|e| format!("cannot read `{local}`: {e}"))?;
        files.push(pb::FileChange {
            path: path.into(),
            content,
            delete: false,
        });
    }
    files.extend(args.deletes.iter().map(|path| pb::FileChange {
        path: path.clone(),
        content: String::new(),
        delete: true,
    }));
    let caller = std::env::var("USER").ok().map(|user| pb::Caller {
        user_entity_ref: format!("user:default/{user}"),
        ..Default::default()
    });
    let request = pb::CreatePullRequestRequest {
        repository: args.repository.clone(),
        base_branch: args.base_branch.clone(),
        files,
        title: args.title.clone(),
        body: args.body.clone(),
        labels: args.labels.clone(),
        reviewers: args.reviewers.clone(),
        draft: args.draft,
        idempotency_key: args.key.clone(),
        caller,
        update_kustomization: args.kustomization,
        host: args.host.clone(),
        ..pb::CreatePullRequestRequest::default()
    };
    Ok((config, request))
}
