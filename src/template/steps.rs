//! The Template's steps: render with our action, then publish as a pull
//! request or (when enabled) apply; and the output links.
use serde_json::{Map, Value, json};

use super::{APPLY_ACTION, PUBLISH_ACTION, RENDER_ACTION, USER_TOKEN_SECRET};
use crate::annotations::Customisation;
use crate::definition::Definition;
use crate::options::Options;
use crate::value::{fixed, object};

/// Steps of the Template. `values` is the render input built by `layout`.
pub(crate) fn steps(
    def: &Definition,
    custom: &Customisation,
    opts: &Options,
    values: Value,
    compositions: bool,
) -> Value {
    let mut input = Map::new();
    input.insert("definition".into(), json!(def.name));
    input.insert("name".into(), json!("${{ parameters.name }}"));
    if def.is_namespaced() {
        input.insert("namespace".into(), json!("${{ parameters.namespace }}"));
    }
    input.insert("owner".into(), json!("${{ parameters.owner }}"));
    input.insert("values".into(), values);
    if compositions {
        let mut c = fixed!({
            "compositionName": "${{ parameters.compositionName }}",
            "compositionSelector": "${{ parameters.compositionSelector }}",
            "updatePolicy": "${{ parameters.updatePolicy }}",
        });
        if def.is_claim() {
            c["compositeDeletePolicy"] = json!("${{ parameters.compositeDeletePolicy }}");
            c["connectionSecretName"] = json!("${{ parameters.connectionSecretName }}");
        }
        input.insert("composition".into(), c);
    }
    // No `templateRef`: the template context has no `templateInfo`; the
    // actions take the running task's template as provenance themselves.
    let kind = &def.target().kind;
    let repo = custom
        .repo_url
        .clone()
        .or_else(|| opts.repo_url.clone())
        .unwrap_or_else(|| "${{ parameters.repoUrl }}".into());
    let path = custom
        .target_path
        .clone()
        .unwrap_or_else(|| "${{ steps.render.output.path }}".into());
    // The claim records where it is published, so its Resource can be
    // deleted by a pull request from Backstage.
    input.insert("repoUrl".into(), json!(repo));
    if let Some(p) = &custom.target_path {
        input.insert("targetPath".into(), json!(p));
    }
    let mut publish = fixed!({
        "id": "publish", "name": "Open pull request", "action": PUBLISH_ACTION,
        "input": {
            "repoUrl": "",
            "manifest": "${{ steps.render.output.manifest }}",
            "path": "",
            "idempotencyKey": "${{ steps.render.output.idempotencyKey }}",
            "title": "",
            "description": "",
            // The sidecar names the user, the template and this entity in
            // the body and the commit trailers.
            "entityRefs": ["${{ steps.render.output.entityRef }}"],
        },
    });
    let publish_input = &mut publish["input"];
    publish_input["repoUrl"] = Value::String(repo);
    publish_input["path"] = Value::String(path);
    publish_input["title"] = Value::String(format!("Create {kind} ${{{{ parameters.name }}}}"));
    publish_input["description"] = Value::String(format!(
        "Create {kind} `${{{{ parameters.name }}}}` owned by `${{{{ parameters.owner }}}}` (definition `{}`).",
        def.name
    ));
    if opts.user_credentials && custom.repo_url.is_none() && opts.repo_url.is_none() {
        publish["input"]["token"] =
            Value::String(format!("${{{{ secrets.{USER_TOKEN_SECRET} }}}}"));
    }
    if custom.kustomization {
        publish["input"]["updateKustomization"] = json!(true);
    }
    // Built by moving `input` in: `json!` would copy it, `values` and all.
    let step = |id: &str, name: &str, action: &str, input: Map<String, Value>| {
        object([
            ("id", json!(id)),
            ("name", json!(name)),
            ("action", json!(action)),
            ("input", Value::Object(input)),
        ])
    };
    if !opts.direct_apply {
        let render = step("render", "Render and validate", RENDER_ACTION, input);
        return Value::Array(vec![render, publish]);
    }
    publish["if"] = json!("${{ parameters.delivery != 'apply' }}");
    let mut apply_input = input.clone();
    apply_input.insert("dryRun".into(), json!("${{ parameters.dryRun }}"));
    let render = step("render", "Render and validate", RENDER_ACTION, input);
    let apply = object([
        ("id", json!("apply")),
        ("name", json!("Apply")),
        ("action", json!(APPLY_ACTION)),
        ("if", json!("${{ parameters.delivery == 'apply' }}")),
        ("input", Value::Object(apply_input)),
    ]);
    Value::Array(vec![render, publish, apply])
}

/// `changeKind` of a publish step that opened or updated a pull request.
pub const CHANGE_PULL_REQUEST: &str = "pull-request";
/// `changeKind` of a publish step that committed on a local Git branch.
pub const CHANGE_LOCAL_BRANCH: &str = "local-branch";
/// `changeKind` of a publish step that changed nothing (dry run, or the
/// base branch already holds the manifest).
pub const CHANGE_NONE: &str = "none";

/// Output: the pull request (only when a forge opened one), the catalog
/// entity, the local branch and commit (only for a local Git target) and the
/// manifest. The scaffolder drops `links`/`text` entries whose `if` is false,
/// so no link points nowhere; a skipped publish step (direct apply) leaves
/// `changeKind` undefined and hides all three.
pub(crate) fn output() -> Value {
    fn kind_is(k: &str) -> String {
        format!("${{{{ steps.publish.output.changeKind == '{k}' }}}}")
    }
    // The same for every Template.
    fixed!({
        "links": [
            {"title": "Pull request", "icon": "github", "url": "${{ steps.publish.output.changeUrl }}",
             "if": kind_is(CHANGE_PULL_REQUEST)},
            {"title": "Open in catalog", "icon": "catalog", "entityRef": "${{ steps.render.output.entityRef }}"},
        ],
        "text": [
            {"title": "Local Git commit", "if": kind_is(CHANGE_LOCAL_BRANCH),
             "content": "Committed `${{ steps.publish.output.commit }}` on branch `${{ steps.publish.output.branch }}` of the local Git repository. No pull request was opened: push the branch to your Git server to propose it."},
            {"title": "Nothing published", "if": kind_is(CHANGE_NONE),
             "content": "No change was made: this was a dry run, or the base branch already holds this manifest."},
            {"title": "Manifest", "content": "```yaml\n${{ steps.render.output.manifest }}\n```"},
        ],
    })
}
