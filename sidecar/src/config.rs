//! Sidecar configuration: flags, then environment, then an optional YAML
//! file, then defaults (first match wins). Secrets are read from files or
//! the environment, never from flags, and never printed.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::secret::Secret;

mod transport;
pub(crate) use transport::Transport;
use transport::{help, millis};

/// Deepest document nesting `--max-document-depth` may allow. Parsing and
/// converting are recursive: measured on 2 MiB thread stacks, a debug build
/// overflows (and aborts the process) from about 84 levels, a release build
/// from somewhere between 520 and 1024; each ceiling leaves a margin.
pub(crate) const MAX_DOCUMENT_DEPTH: usize = if cfg!(debug_assertions) { 64 } else { 128 };

/// Default listen address: loopback, because the sidecar shares the pod's
/// network namespace with Backstage.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `osp serve` flags. Each also reads an `OSP_*` environment variable.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// YAML configuration file.
    #[arg(long, env = "OSP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:50051].
    #[arg(long, env = "OSP_LISTEN")]
    pub listen: Option<String>,
    /// File holding the bearer token callers must send (env `OSP_TOKEN` holds the token itself).
    #[arg(long, env = "OSP_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Allow a non-loopback listen address without a token.
    #[arg(long, env = "OSP_INSECURE")]
    pub insecure: bool,
    /// Serve definitions from the YAML files in this directory (no cluster needed).
    #[arg(long, env = "OSP_FROM_DIR")]
    pub from_dir: Option<PathBuf>,
    /// Log format [default: text].
    #[arg(long, env = "OSP_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    #[arg(long, env = "OSP_REQUEST_TIMEOUT_MS", help = help("Per-request timeout in milliseconds", millis(Transport::default().request_timeout)))]
    pub request_timeout_ms: Option<u64>,
    #[arg(long, env = "OSP_CONCURRENCY_LIMIT", help = help("Requests served at once before new ones get RESOURCE_EXHAUSTED", Transport::default().concurrency_limit))]
    pub concurrency_limit: Option<usize>,
    #[arg(long, env = "OSP_MAX_STREAMS_PER_CONNECTION", help = help("Streams one HTTP/2 connection may have open at once (advertised to the client)", Transport::default().max_streams_per_connection))]
    pub max_streams_per_connection: Option<u32>,
    #[arg(long, env = "OSP_FIRST_MESSAGE_TIMEOUT_MS", help = help("Time a call may take after its headers to send its first request message, in milliseconds", millis(Transport::default().first_message_timeout)))]
    pub first_message_timeout_ms: Option<u64>,
    #[arg(long, env = "OSP_HTTP2_KEEPALIVE_INTERVAL_MS", help = help("Interval of HTTP/2 keepalive pings to each connection, in milliseconds; 0 disables", Transport::default().http2_keepalive_interval.map_or(0, millis)))]
    pub http2_keepalive_interval_ms: Option<u64>,
    #[arg(long, env = "OSP_HTTP2_KEEPALIVE_TIMEOUT_MS", help = help("Time a keepalive ping may go unanswered before the connection is closed, in milliseconds", millis(Transport::default().http2_keepalive_timeout)))]
    pub http2_keepalive_timeout_ms: Option<u64>,
    #[arg(long, env = "OSP_MAX_MESSAGE_BYTES", help = help("Largest gRPC message accepted or sent, in bytes", Transport::default().max_message_bytes))]
    pub max_message_bytes: Option<usize>,
    /// Largest YAML/JSON document read from a request or `--from-dir` file, in bytes [default: 4194304].
    #[arg(long, env = "OSP_MAX_DOCUMENT_BYTES")]
    pub max_document_bytes: Option<usize>,
    /// Deepest nesting of mappings and sequences in a document [default: 64].
    #[arg(long, env = "OSP_MAX_DOCUMENT_DEPTH")]
    pub max_document_depth: Option<usize>,
    /// Most YAML nodes per document stream, alias expansions included [default: 250000].
    #[arg(long, env = "OSP_MAX_DOCUMENT_NODES")]
    pub max_document_nodes: Option<usize>,
    /// Most YAML alias references per document stream [default: 10000].
    #[arg(long, env = "OSP_MAX_DOCUMENT_ALIASES")]
    pub max_document_aliases: Option<usize>,
    /// Largest estimated cost of one CEL validation rule [default: 100000000].
    #[arg(long, env = "OSP_MAX_CEL_COST")]
    pub max_cel_cost: Option<u64>,
    /// Time budget for all CEL validation rules of one claim, in milliseconds [default: 250].
    #[arg(long, env = "OSP_CEL_BUDGET_MS")]
    pub cel_budget_ms: Option<u64>,
    /// Disable gRPC server reflection.
    #[arg(long, env = "OSP_NO_REFLECTION")]
    pub no_reflection: bool,
    /// Kubeconfig whose contexts (`--context`) are watched for the catalog.
    #[arg(long, env = "OSP_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to watch, as a cluster of the same name; repeatable.
    #[arg(long = "context", env = "OSP_CONTEXTS", value_delimiter = ',')]
    pub contexts: Vec<String>,
    /// Backstage's `app.baseUrl`; entity links are absolute under it [default: http://localhost:3000].
    #[arg(long, env = "OSP_APP_BASE_URL")]
    pub app_base_url: Option<String>,
}

/// The optional YAML file. Keys are camelCase; unknown keys are errors so a
/// typo never silently falls back to a default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileConfig {
    /// See [`ServeArgs::listen`].
    pub listen: Option<String>,
    /// See [`ServeArgs::token_file`].
    pub token_file: Option<PathBuf>,
    /// See [`ServeArgs::insecure`].
    pub insecure: Option<bool>,
    /// See [`ServeArgs::from_dir`].
    pub from_dir: Option<PathBuf>,
    /// See [`ServeArgs::log_format`].
    pub log_format: Option<LogFormat>,
    /// See [`ServeArgs::request_timeout_ms`].
    pub request_timeout_ms: Option<u64>,
    /// See [`ServeArgs::concurrency_limit`].
    pub concurrency_limit: Option<usize>,
    /// See [`ServeArgs::max_streams_per_connection`].
    pub max_streams_per_connection: Option<u32>,
    /// See [`ServeArgs::first_message_timeout_ms`].
    pub first_message_timeout_ms: Option<u64>,
    /// See [`ServeArgs::http2_keepalive_interval_ms`].
    pub http2_keepalive_interval_ms: Option<u64>,
    /// See [`ServeArgs::http2_keepalive_timeout_ms`].
    pub http2_keepalive_timeout_ms: Option<u64>,
    /// See [`ServeArgs::max_message_bytes`].
    pub max_message_bytes: Option<usize>,
    /// Serve gRPC reflection [default: true].
    pub reflection: Option<bool>,
    /// Document and CEL limits.
    pub limits: Option<LimitsConfig>,
    /// Where `PublishService` writes: GitHub and/or local Git targets.
    pub publish: Option<crate::service::publish::PublishConfig>,
    /// Direct apply of claims (`ClaimService.ApplyClaim`); off by default.
    pub apply: Option<crate::apply::ApplyConfig>,
    /// Catalog sources: clusters to watch, default owner, sync timeout.
    pub catalog: Option<crate::discovery::CatalogConfig>,
    /// Every cluster osp talks to, named from `catalog.clusters` and
    /// `apply.clusters`.
    pub clusters: Option<Vec<crate::clusters::Cluster>>,
}

/// The `limits:` section of the YAML file; see the matching [`ServeArgs`]
/// flags.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitsConfig {
    /// See [`ServeArgs::max_document_bytes`].
    pub max_document_bytes: Option<usize>,
    /// See [`ServeArgs::max_document_depth`].
    pub max_document_depth: Option<usize>,
    /// See [`ServeArgs::max_document_nodes`].
    pub max_document_nodes: Option<usize>,
    /// See [`ServeArgs::max_document_aliases`].
    pub max_document_aliases: Option<usize>,
    /// See [`ServeArgs::max_cel_cost`].
    pub max_cel_cost: Option<u64>,
    /// See [`ServeArgs::cel_budget_ms`].
    pub cel_budget_ms: Option<u64>,
}

/// The resolved server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address.
    pub listen: SocketAddr,
    /// Bearer token callers must present, if any.
    pub token: Option<Secret>,
    /// Directory of definition YAML files to serve.
    pub from_dir: Option<PathBuf>,
    /// Log format.
    pub log_format: LogFormat,
    /// Connection and call settings.
    pub(crate) transport: Transport,
    /// Whether reflection is served.
    pub reflection: bool,
    /// Limits on every YAML/JSON document read from callers or files.
    pub document_limits: osp::document::Limits,
    /// Limits on CEL validation rules.
    pub cel_limits: osp::claim::CelLimits,
    /// Publishing targets.
    pub publish: crate::service::publish::PublishConfig,
    /// Direct apply of claims.
    pub apply: crate::apply::ApplyConfig,
    /// The `catalog:` section.
    pub catalog: crate::discovery::CatalogConfig,
    /// Clusters the catalog watches (`catalog.clusters` resolved, then
    /// `--kubeconfig`/`--context`).
    pub catalog_clusters: Vec<crate::clusters::Cluster>,
    /// Clusters `ApplyClaim` may target (`apply.clusters` resolved).
    pub apply_clusters: Vec<crate::clusters::Cluster>,
    /// Deprecated settings in use, logged once at start.
    pub deprecations: Vec<String>,
    /// Backstage's `app.baseUrl`, without a trailing `/`.
    pub app_base_url: String,
}

/// Errors from resolving configuration.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config file could not be read.
    #[error("cannot read config file `{path}`: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The config file is not valid.
    #[error("invalid config file `{path}`: {message}")]
    ParseFile { path: PathBuf, message: String },
    /// The listen address is not a socket address.
    #[error("invalid listen address `{value}`: expected `HOST:PORT` with an IP host")]
    ParseListen { value: String },
    /// The token file could not be read or is empty.
    #[error("cannot read token file `{path}`: {message}")]
    ReadToken { path: PathBuf, message: String },
    /// `OSP_TOKEN` set to nothing usable: it would be a token anyone can
    /// send (`Bearer ` plus spaces), and it lifts the loopback-only rule.
    #[error(
        "`OSP_TOKEN` is empty or whitespace only: set the token callers must send, or unset it to run without one (loopback only)"
    )]
    EmptyToken,
    /// A document depth the thread stacks cannot take.
    #[error(
        "`--max-document-depth` is `{value}`, over the `{max}` levels this build can parse without overflowing its stack"
    )]
    DocumentDepth { value: usize, max: usize },
    /// A non-loopback address without a token.
    #[error(
        "refusing to listen on non-loopback address `{listen}` without a token: set `--token-file` (or `OSP_TOKEN`), or pass `--insecure` to accept unauthenticated callers"
    )]
    InsecureListen { listen: SocketAddr },
    /// An app base URL the catalog would reject in entity links.
    #[error(
        "invalid app base url `{value}`: expected an absolute `http://` or `https://` URL, Backstage's `app.baseUrl` (`--app-base-url`, `OSP_APP_BASE_URL`, `catalog.appBaseUrl`)"
    )]
    AppBaseUrl { value: String },
    /// The cluster list or a reference to it is wrong.
    #[error(transparent)]
    Clusters(#[from] crate::clusters::Error),
}

impl Config {
    /// Resolves flags/env (already merged by clap), the file, and defaults.
    pub fn resolve(args: &ServeArgs, env_token: Option<String>) -> Result<Self, Error> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let transport = Transport::resolve(args, &file);
        let listen_raw = args
            .listen
            .clone()
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen: SocketAddr = listen_raw
            .parse()
            .map_err(|_| Error::ParseListen { value: listen_raw })?;
        let token = match args.token_file.clone().or(file.token_file) {
            Some(path) => Some(read_token(&path)?),
            None => env_token.as_deref().map(env_token_secret).transpose()?,
        };
        let insecure = args.insecure || file.insecure.unwrap_or(false);
        let limits = file.limits.clone().unwrap_or_default();
        let document_limits = document_limits(args, &limits);
        if document_limits.max_depth > MAX_DOCUMENT_DEPTH {
            return Err(Error::DocumentDepth {
                value: document_limits.max_depth,
                max: MAX_DOCUMENT_DEPTH,
            });
        }
        if token.is_none() && !listen.ip().is_loopback() && !insecure {
            return Err(Error::InsecureListen { listen });
        }
        let catalog = file.catalog.unwrap_or_default();
        let apply = file.apply.unwrap_or_default();
        let declared = file.clusters.unwrap_or_default();
        let (catalog_clusters, mut deprecations) =
            crate::clusters::resolve(&declared, &catalog.clusters, "catalog.clusters")?;
        let (apply_clusters, more) =
            crate::clusters::resolve(&declared, &apply.clusters, "apply.clusters")?;
        deprecations.extend(more);
        let app_base_url = app_base_url(args, &catalog)?;
        Ok(Self {
            listen,
            token,
            from_dir: args.from_dir.clone().or(file.from_dir),
            log_format: args.log_format.or(file.log_format).unwrap_or_default(),
            transport,
            reflection: !args.no_reflection && file.reflection.unwrap_or(true),
            document_limits,
            cel_limits: cel_limits(args, &limits),
            publish: file.publish.unwrap_or_default(),
            apply,
            catalog_clusters: crate::discovery::with_flags(
                catalog_clusters,
                args.kubeconfig.as_deref(),
                &args.contexts,
            ),
            apply_clusters,
            deprecations,
            catalog,
            app_base_url,
        })
    }
}

impl Config {
    /// The catalog sources' part of the configuration.
    pub fn sources(&self) -> crate::discovery::Sources {
        crate::discovery::Sources {
            from_dir: self.from_dir.clone(),
            catalog: self.catalog.clone(),
            clusters: self.catalog_clusters.clone(),
            document_limits: self.document_limits,
            app_base_url: self.app_base_url.clone(),
            repo_hosts: self.publish.hosts(),
            user_credentials: self.publish.request_user_credentials,
        }
    }
}

/// Flag (or env), else `catalog.appBaseUrl`, else Backstage's default;
/// checked here so a typo stops the start instead of every entity.
fn app_base_url(
    args: &ServeArgs,
    catalog: &crate::discovery::CatalogConfig,
) -> Result<String, Error> {
    let value = args
        .app_base_url
        .clone()
        .or_else(|| catalog.app_base_url.clone())
        .unwrap_or_else(|| crate::catalog::DEFAULT_APP_BASE_URL.to_string());
    let trimmed = value.trim().trim_end_matches('/');
    if !osp::entity::is_absolute_url(trimmed) || trimmed.contains(['?', '#']) {
        return Err(Error::AppBaseUrl { value });
    }
    Ok(trimmed.to_string())
}

/// Flag (or env), else file, else the core's default, per limit.
fn document_limits(args: &ServeArgs, file: &LimitsConfig) -> osp::document::Limits {
    let d = osp::document::Limits::default();
    osp::document::Limits {
        max_bytes: args
            .max_document_bytes
            .or(file.max_document_bytes)
            .unwrap_or(d.max_bytes),
        max_depth: args
            .max_document_depth
            .or(file.max_document_depth)
            .unwrap_or(d.max_depth),
        max_nodes: args
            .max_document_nodes
            .or(file.max_document_nodes)
            .unwrap_or(d.max_nodes),
        max_aliases: args
            .max_document_aliases
            .or(file.max_document_aliases)
            .unwrap_or(d.max_aliases),
    }
}

fn cel_limits(args: &ServeArgs, file: &LimitsConfig) -> osp::claim::CelLimits {
    let d = osp::claim::CelLimits::default();
    osp::claim::CelLimits {
        max_rule_cost: args
            .max_cel_cost
            .or(file.max_cel_cost)
            .map_or(d.max_rule_cost, |c| c as f64),
        time_budget: args
            .cel_budget_ms
            .or(file.cel_budget_ms)
            .map_or(d.time_budget, Duration::from_millis),
    }
}

fn read_file(path: &Path) -> Result<FileConfig, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    serde_saphyr::from_str(&text).map_err(|e| Error::ParseFile {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// The token from `OSP_TOKEN`, surrounding whitespace dropped as from a
/// token file (HTTP drops it from header values too).
fn env_token_secret(value: &str) -> Result<Secret, Error> {
    match value.trim() {
        "" => Err(Error::EmptyToken),
        token => Ok(Secret::new(token)),
    }
}

fn read_token(path: &Path) -> Result<Secret, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::ReadToken {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(Error::ReadToken {
            path: path.to_path_buf(),
            message: "file is empty or whitespace only".into(),
        });
    }
    Ok(Secret::new(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resolves `args` with `file` as the YAML configuration file (none
    /// when empty).
    fn resolve_with_file(file: &str, args: ServeArgs) -> Result<Config, Error> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, file).expect("write config");
        let args = ServeArgs {
            config: (!file.is_empty()).then_some(path),
            ..args
        };
        Config::resolve(&args, None)
    }

    #[test]
    fn resolves_listen_and_refuses_insecure() {
        struct Case {
            reason: &'static str,
            args: ServeArgs,
            token: Option<&'static str>,
            want: Result<&'static str, &'static str>,
        }
        let cases = [
            Case {
                reason: "loopback default needs no token",
                args: ServeArgs::default(),
                token: None,
                want: Ok("127.0.0.1:50051"),
            },
            Case {
                reason: "non-loopback without a token is refused",
                args: ServeArgs {
                    listen: Some("0.0.0.0:50051".into()),
                    ..Default::default()
                },
                token: None,
                want: Err("refusing to listen on non-loopback address `0.0.0.0:50051`"),
            },
            Case {
                reason: "non-loopback with a token is fine",
                args: ServeArgs {
                    listen: Some("0.0.0.0:1".into()),
                    ..Default::default()
                },
                token: Some("t"),
                want: Ok("0.0.0.0:1"),
            },
            Case {
                reason: "non-loopback with --insecure is fine",
                args: ServeArgs {
                    listen: Some("[::]:1".into()),
                    insecure: true,
                    ..Default::default()
                },
                token: None,
                want: Ok("[::]:1"),
            },
            Case {
                reason: "a host name is not an address",
                args: ServeArgs {
                    listen: Some("localhost:1".into()),
                    ..Default::default()
                },
                token: None,
                want: Err("invalid listen address `localhost:1`"),
            },
        ];
        for c in cases {
            let got = Config::resolve(&c.args, c.token.map(str::to_string))
                .map(|c| c.listen.to_string())
                .map_err(|e| e.to_string());
            match (got, c.want) {
                (Ok(g), Ok(w)) => assert_eq!(g, w, "{}", c.reason),
                (Err(g), Err(w)) => assert!(g.starts_with(w), "{}: {g}", c.reason),
                (g, w) => panic!("{}: got {g:?}, want {w:?}", c.reason),
            }
        }
    }

    #[test]
    fn limits_take_flags_then_file_then_defaults() {
        struct Case {
            reason: &'static str,
            args: ServeArgs,
            file: &'static str,
            want_document: osp::document::Limits,
            want_cel: osp::claim::CelLimits,
        }
        let d = osp::document::Limits::default();
        let cel = osp::claim::CelLimits::default();
        let cases = [
            Case {
                reason: "no flags and no file keep the core's defaults",
                args: ServeArgs::default(),
                file: "",
                want_document: d,
                want_cel: cel,
            },
            Case {
                reason: "the file's limits section applies",
                args: ServeArgs::default(),
                file: "limits:\n  maxDocumentBytes: 100\n  maxDocumentDepth: 3\n  maxDocumentNodes: 50\n  maxDocumentAliases: 2\n  maxCelCost: 1000\n  celBudgetMs: 5\n",
                want_document: osp::document::Limits {
                    max_bytes: 100,
                    max_depth: 3,
                    max_nodes: 50,
                    max_aliases: 2,
                },
                want_cel: osp::claim::CelLimits {
                    max_rule_cost: 1000.0,
                    time_budget: Duration::from_millis(5),
                },
            },
            Case {
                reason: "flags (or their env variables) win over the file, per limit",
                args: ServeArgs {
                    max_document_bytes: Some(7),
                    max_document_nodes: Some(8),
                    max_cel_cost: Some(9),
                    ..Default::default()
                },
                file: "limits: {maxDocumentBytes: 100, maxDocumentDepth: 3, maxCelCost: 1000}\n",
                want_document: osp::document::Limits {
                    max_bytes: 7,
                    max_depth: 3,
                    max_nodes: 8,
                    ..d
                },
                want_cel: osp::claim::CelLimits {
                    max_rule_cost: 9.0,
                    ..cel
                },
            },
        ];
        for c in cases {
            let got = resolve_with_file(c.file, c.args).expect(c.reason);
            assert_eq!(got.document_limits, c.want_document, "{}", c.reason);
            assert_eq!(got.cel_limits, c.want_cel, "{}", c.reason);
        }
    }

    #[test]
    fn connection_limits_take_flags_then_file_then_defaults() {
        struct Case {
            reason: &'static str,
            args: ServeArgs,
            file: &'static str,
            want_streams: u32,
            want_first_message: Duration,
            want_keepalive: (Option<Duration>, Duration),
        }
        let cases = [
            Case {
                reason: "defaults",
                args: ServeArgs::default(),
                file: "",
                want_streams: Transport::default().max_streams_per_connection,
                want_first_message: Transport::default().first_message_timeout,
                want_keepalive: (
                    Transport::default().http2_keepalive_interval,
                    Transport::default().http2_keepalive_timeout,
                ),
            },
            Case {
                reason: "the file's keys apply",
                args: ServeArgs::default(),
                file: "maxStreamsPerConnection: 8\nfirstMessageTimeoutMs: 500\nhttp2KeepaliveIntervalMs: 0\nhttp2KeepaliveTimeoutMs: 300\n",
                want_streams: 8,
                want_first_message: Duration::from_millis(500),
                want_keepalive: (None, Duration::from_millis(300)),
            },
            Case {
                reason: "flags (or their env variables) win over the file, per setting",
                args: ServeArgs {
                    max_streams_per_connection: Some(4),
                    http2_keepalive_interval_ms: Some(200),
                    ..Default::default()
                },
                file: "maxStreamsPerConnection: 8\nfirstMessageTimeoutMs: 500\nhttp2KeepaliveIntervalMs: 0\n",
                want_streams: 4,
                want_first_message: Duration::from_millis(500),
                want_keepalive: (
                    Some(Duration::from_millis(200)),
                    Transport::default().http2_keepalive_timeout,
                ),
            },
            Case {
                reason: "zero streams would make the server useless: at least one",
                args: ServeArgs {
                    max_streams_per_connection: Some(0),
                    ..Default::default()
                },
                file: "",
                want_streams: 1,
                want_first_message: Transport::default().first_message_timeout,
                want_keepalive: (
                    Transport::default().http2_keepalive_interval,
                    Transport::default().http2_keepalive_timeout,
                ),
            },
        ];
        for c in cases {
            let got = resolve_with_file(c.file, c.args).expect(c.reason);
            assert_eq!(
                got.transport.max_streams_per_connection, c.want_streams,
                "{}",
                c.reason
            );
            assert_eq!(
                got.transport.first_message_timeout, c.want_first_message,
                "{}",
                c.reason
            );
            assert_eq!(
                (
                    got.transport.http2_keepalive_interval,
                    got.transport.http2_keepalive_timeout
                ),
                c.want_keepalive,
                "{}",
                c.reason
            );
        }
    }

    #[test]
    fn app_base_url_takes_flag_then_file_then_default() {
        struct Case {
            reason: &'static str,
            flag: Option<&'static str>,
            file: &'static str,
            want: Result<&'static str, &'static str>,
        }
        let cases = [
            Case {
                reason: "Backstage's default app.baseUrl when nothing is set",
                flag: None,
                file: "",
                want: Ok("http://localhost:3000"),
            },
            Case {
                reason: "the catalog section's key, trailing slash dropped",
                flag: None,
                file: "catalog: {appBaseUrl: 'https://portal.example.org/backstage/'}\n",
                want: Ok("https://portal.example.org/backstage"),
            },
            Case {
                reason: "the flag (or its env variable) wins over the file",
                flag: Some("https://flag.example.org"),
                file: "catalog: {appBaseUrl: 'https://file.example.org'}\n",
                want: Ok("https://flag.example.org"),
            },
            Case {
                reason: "a relative URL would be rejected by the catalog: refused at start",
                flag: Some("/portal"),
                file: "",
                want: Err("invalid app base url `/portal`"),
            },
            Case {
                reason: "a query would end up inside every link's path",
                flag: Some("https://portal.example.org/?x=1"),
                file: "",
                want: Err("invalid app base url `https://portal.example.org/?x=1`"),
            },
        ];
        for c in cases {
            let args = ServeArgs {
                app_base_url: c.flag.map(str::to_string),
                ..Default::default()
            };
            let got = resolve_with_file(c.file, args)
                .map(|c| c.app_base_url)
                .map_err(|e| e.to_string());
            match (got, c.want) {
                (Ok(g), Ok(w)) => assert_eq!(g, w, "{}", c.reason),
                (Err(g), Err(w)) => assert!(g.starts_with(w), "{}: {g}", c.reason),
                (g, w) => panic!("{}: got {g:?}, want {w:?}", c.reason),
            }
        }
    }

    #[test]
    fn depth_over_the_stack_ceiling_is_refused() {
        let args = ServeArgs {
            max_document_depth: Some(MAX_DOCUMENT_DEPTH + 1),
            ..Default::default()
        };
        let err = Config::resolve(&args, None).expect_err("too deep for the stack");
        assert!(
            err.to_string().starts_with("`--max-document-depth` is `"),
            "{err}"
        );
        let args = ServeArgs {
            max_document_depth: Some(MAX_DOCUMENT_DEPTH),
            ..Default::default()
        };
        assert!(
            Config::resolve(&args, None).is_ok(),
            "the ceiling itself is fine"
        );
    }

    #[test]
    fn unknown_limits_are_refused() {
        let err = resolve_with_file("limits: {maxDocumentByte: 1}\n", ServeArgs::default())
            .expect_err("a typo is an error");
        assert!(err.to_string().contains("maxDocumentByte"), "{err}");
    }

    #[test]
    fn empty_tokens_are_refused() {
        struct Case {
            reason: &'static str,
            env: Option<&'static str>,
            file: Option<&'static str>,
            want: Result<Option<&'static str>, &'static str>,
        }
        let cases = [
            Case {
                reason: "no token at all: auth off (loopback only)",
                env: None,
                file: None,
                want: Ok(None),
            },
            Case {
                reason: "an empty OSP_TOKEN is a mistake, not a way to turn auth off",
                env: Some(""),
                file: None,
                want: Err("`OSP_TOKEN` is empty or whitespace only"),
            },
            Case {
                reason: "a whitespace-only OSP_TOKEN would accept `Bearer ` plus spaces",
                env: Some(" \t\n"),
                file: None,
                want: Err("`OSP_TOKEN` is empty or whitespace only"),
            },
            Case {
                reason: "surrounding whitespace is dropped, as from a file",
                env: Some(" s3cret\n"),
                file: None,
                want: Ok(Some("s3cret")),
            },
            Case {
                reason: "a whitespace-only token file is refused",
                env: None,
                file: Some(" \n\t "),
                want: Err("file is empty or whitespace only"),
            },
            Case {
                reason: "an empty token file is refused",
                env: None,
                file: Some(""),
                want: Err("file is empty or whitespace only"),
            },
            Case {
                reason: "a token file wins over OSP_TOKEN",
                env: Some(" "),
                file: Some("from-file\n"),
                want: Ok(Some("from-file")),
            },
        ];
        let dir = tempfile::tempdir().expect("tempdir");
        for (i, c) in cases.into_iter().enumerate() {
            let token_file = c.file.map(|text| {
                let path = dir.path().join(format!("token-{i}"));
                std::fs::write(&path, text).expect("write token");
                path
            });
            let args = ServeArgs {
                token_file,
                ..Default::default()
            };
            let got = Config::resolve(&args, c.env.map(str::to_string))
                .map(|c| c.token.map(|t| t.expose().to_string()))
                .map_err(|e| e.to_string());
            match (got, c.want) {
                (Ok(g), Ok(w)) => assert_eq!(g.as_deref(), w, "{}", c.reason),
                (Err(g), Err(w)) => assert!(g.contains(w), "{}: {g}", c.reason),
                (g, w) => panic!("{}: got {g:?}, want {w:?}", c.reason),
            }
        }
    }

    #[test]
    fn clusters_are_declared_once_and_named_by_each_feature() {
        let config = resolve_with_file(
            "clusters:\n- {name: dev, context: kind-dev}\n- {name: prod, inCluster: true}\ncatalog: {clusters: [prod, dev]}\napply: {enabled: true, clusters: [dev]}\n",
            ServeArgs::default(),
        )
        .expect("resolves");
        let names =
            |c: &[crate::clusters::Cluster]| c.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&config.catalog_clusters),
            ["prod", "dev"],
            "catalog order"
        );
        assert_eq!(names(&config.apply_clusters), ["dev"]);
        assert_eq!(
            config.apply_clusters[0].context.as_deref(),
            Some("kind-dev"),
            "one declaration"
        );
        assert!(config.deprecations.is_empty(), "{:?}", config.deprecations);

        let old = resolve_with_file(
            "catalog: {clusters: [{name: dev, context: kind-dev}]}\n",
            ServeArgs::default(),
        )
        .expect("the old form still resolves");
        assert_eq!(names(&old.catalog_clusters), ["dev"]);
        assert_eq!(old.deprecations.len(), 1, "and says it is deprecated");

        let err = resolve_with_file("apply: {clusters: [dev]}\n", ServeArgs::default())
            .expect_err("an undeclared name stops the start");
        assert!(err.to_string().contains("`apply.clusters[0]`"), "{err}");
    }
}
