//! What the operator configures for conversion, beyond the definition
//! itself, and the rules that combine the two (the owner).
use crate::annotations::Customisation;

/// Owner of generated entities when neither the definition nor the
/// operator (`Options::default_owner`, the sidecar's `catalog.defaultOwner`)
/// names one. A new Backstage catalog has no such group, so the sidecar
/// warns at start while it is in use.
pub const DEFAULT_OWNER: &str = "group:default/platform-team";

/// What the operator configures, beyond the definition itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    /// Names of the Compositions known for this definition (offered as a
    /// choice; free text when empty).
    pub compositions: Vec<String>,
    /// Offer "apply directly" next to the pull request.
    pub direct_apply: bool,
    /// Repository every pull request goes to; no picker then.
    pub repo_url: Option<String>,
    /// Hosts the repository picker allows (`github.com` when empty).
    pub allowed_hosts: Vec<String>,
    /// Ask the user to sign in to the forge in the repository picker
    /// (`requestUserCredentials`), so the change is authored as them.
    pub user_credentials: bool,
    /// Add a page showing the claim the form would create, and every
    /// violation, as the user types (`OspClaimPreview` of `@osp/plugin-osp`).
    pub claim_preview: bool,
    /// Owner when the definition names none.
    pub default_owner: Option<String>,
}

impl Options {
    /// Owner of the entities generated for a definition: its own
    /// annotation, else the operator's default, else [`DEFAULT_OWNER`].
    pub fn owner_for(&self, custom: &Customisation) -> String {
        custom
            .owner
            .clone()
            .or_else(|| self.default_owner.clone())
            .unwrap_or_else(|| DEFAULT_OWNER.into())
    }
}
