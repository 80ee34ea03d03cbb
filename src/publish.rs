//! Planning a GitOps publication: which branch, which tree entries, which
//! commit message. Pure: the sidecar reads the few files a plan asks for
//! ([`Plan::reads`]), then turns the plan into tree entries
//! ([`Plan::for_entries`]) and writes them to GitHub or a local repository.
use std::collections::BTreeMap;

pub mod branch;
pub mod kustomization;
pub mod path;

/// Where and how a target lays files out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    /// Folder every written path must lie under; empty means anywhere.
    pub base: String,
    /// Branch name pattern.
    pub branch: branch::Pattern,
}

/// One requested file change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Repository-relative path.
    pub path: String,
    /// New content; `None` deletes the file.
    pub content: Option<String>,
}

/// What to publish.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Files to write or delete.
    pub changes: Vec<Change>,
    /// Idempotency key; the branch derives from it.
    pub idempotency_key: String,
    /// Commit title (the pull request title).
    pub title: String,
    /// Who asks, e.g. `user:default/jane.doe`; recorded as a commit trailer
    /// and at the end of the pull request body.
    pub requested_by: String,
    /// The Backstage template that ran, e.g. `template:default/xpostgres`.
    pub template_ref: String,
    /// Catalog entities the change is about, e.g. the Resource to be.
    pub entity_refs: Vec<String>,
    /// Keep the `kustomization.yaml` of each touched folder up to date.
    pub update_kustomization: bool,
}

/// Errors from planning a publication.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The request has no files.
    #[error("no files to publish")]
    NoChanges,
    /// A path is unsafe.
    #[error(transparent)]
    CheckPath(#[from] path::Error),
    /// The same path appears twice.
    #[error("path `{path}` appears more than once")]
    DuplicatePath { path: String },
    /// The branch could not be named.
    #[error(transparent)]
    NameBranch(#[from] branch::Error),
    /// A kustomization could not be updated.
    #[error(transparent)]
    UpdateKustomization(#[from] kustomization::Error),
}

/// One entry of the tree to write on top of the branch's current tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Write a file (mode `100644`).
    Write { path: String, content: String },
    /// Delete a file.
    Delete { path: String },
}

impl Entry {
    /// The entry's path.
    pub fn path(&self) -> &str {
        match self {
            Self::Write { path, .. } | Self::Delete { path } => path,
        }
    }
}

/// A checked publication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Head branch.
    pub branch: String,
    /// Commit message: title plus trailers.
    pub message: String,
    /// Requested changes, sorted by path.
    pub changes: Vec<Change>,
    /// Kustomization files to keep up to date, sorted.
    pub kustomizations: Vec<String>,
    /// Markdown line naming who asked, with which template, for what; empty
    /// when nothing is known.
    pub provenance: String,
}

/// What a publication left for people to review.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ChangeKind {
    /// Nothing: the base branch already holds the files, so nothing was
    /// proposed.
    #[default]
    None,
    /// A pull request on a forge (GitHub, GHE), with a web URL.
    PullRequest,
    /// A commit on a branch of a local repository; no web page shows it.
    LocalBranch,
}

/// The outcome of a publication, for GitHub and local targets alike.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    /// What kind of change was made.
    pub kind: ChangeKind,
    /// Web URL of the change (the pull request); empty when there is none
    /// (a local target, or nothing proposed).
    pub url: String,
    /// Pull request number; 0 for a local target or when nothing was proposed.
    pub number: u64,
    /// Head branch.
    pub branch: String,
    /// Head commit.
    pub commit_sha: String,
    /// A new pull request (or local branch) was created.
    pub created: bool,
    /// The branch already held exactly these changes; nothing was written.
    pub unchanged: bool,
    /// HTTP requests the publication took (0 for a local target).
    pub request_count: u32,
}

/// Checks a request against a layout and names its branch.
pub fn for_plan(request: &Request, layout: &Layout) -> Result<Plan, Error> {
    if request.changes.is_empty() {
        return Err(Error::NoChanges);
    }
    let mut changes = request.changes.clone();
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    for pair in changes.windows(2) {
        if pair[0].path == pair[1].path {
            return Err(Error::DuplicatePath {
                path: pair[0].path.clone(),
            });
        }
    }
    for c in &changes {
        path::for_path(&c.path, &layout.base)?;
    }
    let branch = branch::for_branch(&request.idempotency_key, &layout.branch)?;
    let mut kustomizations: Vec<String> = if request.update_kustomization {
        changes
            .iter()
            .filter(|c| file_name(&c.path) != kustomization::FILE_NAME)
            .map(|c| join(folder(&c.path), kustomization::FILE_NAME))
            .collect()
    } else {
        Vec::new()
    };
    kustomizations.dedup();
    kustomizations.sort();
    kustomizations.dedup();
    Ok(Plan {
        branch,
        message: for_message(request),
        changes,
        kustomizations,
        provenance: for_provenance(request),
    })
}

impl Plan {
    /// Paths whose current content (on the branch the commit builds on) the
    /// plan needs: deleted files, to skip those already gone, and
    /// kustomizations.
    pub fn reads(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .changes
            .iter()
            .filter(|c| c.content.is_none())
            .map(|c| c.path.clone())
            .chain(self.kustomizations.iter().cloned())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The tree entries, given the current content of every path in
    /// [`Plan::reads`] (`None` when absent). An empty result means the branch
    /// already holds the change.
    pub fn for_entries(
        &self,
        current: &BTreeMap<String, Option<String>>,
    ) -> Result<Vec<Entry>, Error> {
        let exists = |p: &str| current.get(p).is_some_and(Option::is_some);
        let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
        for c in &self.changes {
            match &c.content {
                Some(content) => {
                    let e = Entry::Write {
                        path: c.path.clone(),
                        content: content.clone(),
                    };
                    entries.insert(c.path.clone(), e);
                }
                None if exists(&c.path) => {
                    let e = Entry::Delete {
                        path: c.path.clone(),
                    };
                    entries.insert(c.path.clone(), e);
                }
                None => {}
            }
        }
        for k in &self.kustomizations {
            let dir = folder(k);
            let in_dir = |want_write: bool| -> Vec<&str> {
                self.changes
                    .iter()
                    .filter(|c| folder(&c.path) == dir && c.content.is_some() == want_write)
                    .map(|c| file_name(&c.path))
                    .filter(|n| *n != kustomization::FILE_NAME)
                    .collect()
            };
            let existing = current.get(k).and_then(Option::as_deref);
            let new = kustomization::for_kustomization(k, existing, &in_dir(true), &in_dir(false))?;
            if let Some(content) = new {
                let e = Entry::Write {
                    path: k.clone(),
                    content,
                };
                entries.insert(k.clone(), e);
            }
        }
        Ok(entries.into_values().collect())
    }
}

/// Commit message: the title, then trailers that tie the commit to its
/// request for audits.
pub fn for_message(request: &Request) -> String {
    let title = match request.title.trim() {
        "" => "Publish changes",
        t => t,
    };
    let mut out = format!(
        "{title}\n\nOsp-Idempotency-Key: {}",
        request.idempotency_key
    );
    let mut trailer = |key: &str, value: &str| {
        if !value.is_empty() {
            out.push_str(&format!("\n{key}: {}", one_line(value)));
        }
    };
    trailer("Osp-Requested-By", &request.requested_by);
    trailer("Osp-Template", &request.template_ref);
    for e in &request.entity_refs {
        trailer("Osp-Entity", e);
    }
    out.push('\n');
    out
}

/// A value on one line: a newline in a ref cannot forge another trailer.
fn one_line(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// One Markdown line for the pull request body: who asked, with which
/// template, for which entities. Refs are code spans, so a crafted ref
/// cannot add links or mentions.
pub fn for_provenance(request: &Request) -> String {
    let code = |s: &str| format!("`{}`", one_line(s).replace('`', "'"));
    let mut parts = Vec::new();
    if !request.requested_by.is_empty() {
        parts.push(format!("Requested by {}", code(&request.requested_by)));
    }
    if !request.template_ref.is_empty() {
        parts.push(format!("with template {}", code(&request.template_ref)));
    }
    if !request.entity_refs.is_empty() {
        let refs: Vec<String> = request.entity_refs.iter().map(|e| code(e)).collect();
        parts.push(format!("for {}", refs.join(", ")));
    }
    match parts.is_empty() {
        true => String::new(),
        false => format!("{} (through Backstage and osp).", parts.join(" ")),
    }
}

impl Plan {
    /// The pull request body: the caller's, then the provenance line.
    pub fn body(&self, body: &str) -> String {
        match (body.trim_end(), self.provenance.as_str()) {
            (b, "") => b.to_owned(),
            ("", p) => p.to_owned(),
            (b, p) => format!("{b}\n\n---\n{p}"),
        }
    }
}

fn folder(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

fn file_name(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, name)| name)
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests;
