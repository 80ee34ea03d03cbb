//! Every corpus definition (XRDs, and RGDs and Promises too) whose schema
//! needs no user input (no required `spec` field without a default) renders
//! a defaults-only claim or XR that validates, and the rendered manifest
//! validates again unchanged. Prints the counts.

use osp::claim::{self, ClaimInput};
use osp::definition;
use osp::document::{self, Limits};
use serde_json::Value;

#[derive(Debug, Default)]
struct Counts {
    definitions: usize,
    unreadable: usize,
    needs_input: usize,
    rendered: usize,
    validated: usize,
    failed: Vec<String>,
}

#[test]
fn defaults_only_claims_render_and_validate() {
    let Some(root) = osp_tests::corpus_dir() else {
        return;
    };
    for folder in ["xrd", "rgd", "promise"] {
        let paths = osp_tests::yaml_files(&root.join(folder));
        let mut c = Counts::default();
        for path in &paths {
            let rel = path
                .strip_prefix(&root)
                .unwrap_or(path)
                .display()
                .to_string();
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            let Ok(docs) = document::from_yaml_stream(&text, Limits::default()) else {
                continue;
            };
            for (i, doc) in docs.iter().enumerate() {
                let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
                if !matches!(
                    kind,
                    "CompositeResourceDefinition" | "ResourceGraphDefinition" | "Promise"
                ) {
                    continue;
                }
                c.definitions += 1;
                let Ok(def) = definition::for_document(doc) else {
                    c.unreadable += 1;
                    continue;
                };
                if !claim::defaults_only(&def) {
                    c.needs_input += 1;
                    continue;
                }
                let input = ClaimInput {
                    name: "defaults-only".into(),
                    namespace: def.is_namespaced().then(|| "default".to_string()),
                    ..Default::default()
                };
                match claim::for_claim(&def, &input) {
                    Ok(r) => {
                        c.rendered += 1;
                        let again = claim::validate(&def, &r.manifest);
                        if again.is_empty() {
                            c.validated += 1;
                        } else {
                            c.failed.push(format!("{rel}#{i}: revalidation: {again:?}"));
                        }
                    }
                    Err(e) => c.failed.push(format!("{rel}#{i}: {e}")),
                }
            }
        }
        println!(
            "{folder}: {} definitions, {} unreadable, {} need user input, {} defaults-only rendered, {} validated, {} failed",
            c.definitions,
            c.unreadable,
            c.needs_input,
            c.rendered,
            c.validated,
            c.failed.len()
        );
        for f in &c.failed {
            println!("  {f}");
        }
        assert!(c.failed.is_empty(), "{folder}: {:#?}", c.failed);
    }
}
