//! Credentials for GitHub: a token (from a file or an environment variable)
//! or a GitHub App, whose installation token is minted from the app's
//! private key, cached, and refreshed well before it expires. Secret values
//! never reach `Debug`, logs or error messages.
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

use crate::secret::{self, Secret, SecretSource};

/// Refresh an installation token when it has less than this left; GitHub
/// issues them for an hour.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// How the sidecar authenticates to GitHub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A personal access token, fine-grained token or installation token.
    Token(SecretSource),
    /// A GitHub App installation.
    App {
        /// The app's ID.
        app_id: u64,
        /// The installation to act as (one per organisation).
        installation_id: u64,
        /// The app's PEM private key.
        private_key: SecretSource,
    },
}

/// Errors from preparing credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A secret could not be read.
    #[error("github: {0}")]
    ReadSecret(#[from] secret::ReadError),
    /// The app private key is not a usable RSA PEM key.
    #[error("the github app private key is not an RSA PEM key")]
    ParseKey,
    /// The app JWT could not be signed.
    #[error("cannot sign the github app jwt")]
    SignJwt,
}

/// A cached installation token.
#[derive(Debug)]
struct Cached {
    token: Secret,
    expires_at: DateTime<Utc>,
}

/// Credentials plus the installation token cache.
#[derive(Debug)]
pub struct Authenticator {
    credentials: Credentials,
    cache: Mutex<Option<Cached>>,
}

/// What the transport must do to get an `Authorization` value.
#[derive(Debug)]
pub enum Header {
    /// Use this value.
    Ready(Secret),
    /// Exchange this app JWT for an installation token first, at this path.
    Exchange { jwt: Secret, path: String },
}

impl Authenticator {
    /// Wraps credentials; nothing is read until first use.
    pub fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            cache: Mutex::new(None),
        }
    }

    /// The `Authorization` header value to use now, or the exchange to do.
    pub async fn header(&self) -> Result<Header, Error> {
        match &self.credentials {
            Credentials::Token(source) => Ok(Header::Ready(bearer(&source.read()?))),
            Credentials::App {
                app_id,
                installation_id,
                private_key,
            } => {
                let cache = self.cache.lock().await;
                if let Some(c) = cache.as_ref() {
                    let left = (c.expires_at - Utc::now()).to_std().unwrap_or_default();
                    if left > REFRESH_MARGIN {
                        return Ok(Header::Ready(bearer(&c.token)));
                    }
                }
                let pem = private_key.read()?;
                let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem.expose().as_bytes())
                    .map_err(|_| Error::ParseKey)?;
                let jwt = octocrab::auth::create_jwt(octocrab::models::AppId(*app_id), &key)
                    .map_err(|_| Error::SignJwt)?;
                Ok(Header::Exchange {
                    jwt: bearer(&Secret::new(jwt)),
                    path: format!("/app/installations/{installation_id}/access_tokens"),
                })
            }
        }
    }

    /// Stores a freshly minted installation token; returns its header value.
    pub async fn store(&self, token: Secret, expires_at: DateTime<Utc>) -> Secret {
        let header = bearer(&token);
        *self.cache.lock().await = Some(Cached { token, expires_at });
        header
    }

    /// Drops a cached token GitHub no longer accepts. Returns whether a
    /// retry with a new token can help.
    pub async fn invalidate(&self) -> bool {
        self.cache.lock().await.take().is_some()
    }
}

fn bearer(token: &Secret) -> Secret {
    Secret::new(format!("Bearer {}", token.expose()))
}
