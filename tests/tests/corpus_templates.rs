//! Every document of the shared corpus (`xrd/`, `rgd/`, `promise/`) either
//! converts into a Template and an API whose parameter schemas compile as
//! draft-07 and accept the definition's own defaults, or is rejected with
//! a one-line reason naming the file, the document and the field. Only the
//! documents listed in `EXPECTED_REJECTIONS` may be rejected; each is
//! genuinely invalid (see docs/templates.md).

use osp::convert::{self, Converted};
use osp::document::{self, Limits};
use serde_json::{Map, Value};

/// `file#document` prefixes of the documents that must be rejected.
const EXPECTED_REJECTIONS: &[&str] = &[
    // Crossplane v2's own CRD forbids `claimNames` on v2 XRDs (CEL rule).
    "xrd/open-service-portal/service-cluster-template__content__definition.yaml#0: spec.claimNames",
    "xrd/open-service-portal/service-dnsrecord-template__content__definition.yaml#0: spec.claimNames",
    "xrd/open-service-portal/service-firewall-template__content__definition.yaml#0: spec.claimNames",
    "xrd/open-service-portal/service-mongodb-golden-path-template__content__definition.yaml#0: spec.claimNames",
    "xrd/open-service-portal/service-mongodb-template__content__definition.yaml#0: spec.claimNames",
    // The removed v1alpha1 shape.
    "xrd/public/crossplane__crossplane__docs__snippets__package__aws-with-vpc__definition.yaml#0: spec.crdSpecTemplate",
    // Test stubs with metadata only.
    "xrd/public/crossplane__crossplane__internal__xpkg__v2__workspace__testdata__multiple-object.yaml#0: spec:",
    "xrd/public/crossplane__crossplane__internal__xpkg__v2__workspace__testdata__multiple-object.yaml#1: spec:",
    "xrd/public/crossplane__crossplane__test__e2e__manifests__lifecycle__upgrade__provider__definition-ref.yaml#0: spec:",
    // An unquoted default with spaces: KRO's own marker parser rejects it.
    "rgd/public/kubernetes-sigs__kro__examples__aws__ack-controller__controllers__s3-controller.yaml#0: spec.schema.spec.values.iamRole.roleDescription",
    "rgd/public/kubernetes-sigs__kro__examples__aws__ack-controller__resourcegroup.yaml#0: spec.schema.spec.values.iam.iamRole.roleDescription",
    // Duplicate mapping key `selector`: invalid YAML, kubectl rejects it too.
    "rgd/public/kubernetes-sigs__kro__examples__kubernetes__core-dns__core-dns.yaml#0: invalid yaml",
    // A Promise without `spec.api` offers nothing to request.
    "promise/public/syntasso__kratix__config__samples__nil-api-promise.yaml#0: spec.api",
];

const KINDS: [&str; 3] = [
    "CompositeResourceDefinition",
    "ResourceGraphDefinition",
    "Promise",
];

/// An instance holding every default of a schema, nested as the form
/// would prefill it.
fn defaults(schema: &Value) -> Option<Value> {
    if let Some(d) = schema.get("default") {
        return Some(d.clone());
    }
    let props = schema.get("properties")?.as_object()?;
    let m: Map<String, Value> = props
        .iter()
        .filter_map(|(k, s)| defaults(s).map(|d| (k.clone(), d)))
        .collect();
    Some(Value::Object(m))
}

/// Problems with the generated Template; empty when it is fine.
fn check(c: &Converted) -> Vec<String> {
    let mut problems = Vec::new();
    let name_re = regex_lite(&c.template["metadata"]["name"]);
    if !name_re {
        problems.push(format!(
            "invalid entity name {}",
            c.template["metadata"]["name"]
        ));
    }
    let Some(pages) = c.template["spec"]["parameters"].as_array() else {
        return vec!["no parameters".into()];
    };
    for (i, page) in pages.iter().enumerate() {
        let validator = match jsonschema::draft7::new(page) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("page {i} does not compile: {e}"));
                continue;
            }
        };
        // The page as the form prefills it, without required user input.
        let Some(instance) = defaults(page) else {
            continue;
        };
        for err in validator.iter_errors(&instance) {
            if err.to_string().contains("is a required property") {
                continue;
            }
            problems.push(format!(
                "page {i} rejects its defaults at `{}`: {err}",
                err.instance_path()
            ));
        }
    }
    problems
}

fn regex_lite(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        !s.is_empty()
            && s.len() <= 63
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.ends_with(|c: char| c.is_ascii_alphanumeric())
    })
}

#[test]
fn every_corpus_definition_converts_or_is_rejected_with_a_reason() {
    let Some(root) = osp_tests::corpus_dir() else {
        return;
    };
    let mut paths = Vec::new();
    for sub in ["xrd", "rgd", "promise"] {
        paths.extend(osp_tests::yaml_files(&root.join(sub)));
    }
    let (mut converted, mut rejected, mut skipped, mut broken) =
        (0, Vec::new(), Vec::new(), Vec::new());
    let mut warnings = 0;
    for path in &paths {
        let rel = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        let text = std::fs::read_to_string(path).expect("readable corpus file");
        let docs = match document::from_yaml_stream(&text, Limits::default()) {
            Ok(d) => d,
            Err(e) => {
                rejected.push(format!("{rel}#0: {e}"));
                continue;
            }
        };
        for (i, doc) in docs.iter().enumerate() {
            let kind = doc["kind"].as_str().unwrap_or_default();
            if !KINDS.contains(&kind) {
                skipped.push(format!("{rel}#{i}: kind `{kind}`"));
                continue;
            }
            match convert::for_entities(doc) {
                Ok(c) => {
                    converted += 1;
                    warnings += c.warnings.len();
                    for p in check(&c) {
                        broken.push(format!("{rel}#{i}: {p}"));
                    }
                }
                Err(e) => rejected.push(format!("{rel}#{i}: {e}")),
            }
        }
    }
    println!(
        "files: {}, converted: {converted}, rejected: {}, other kinds skipped: {}, warnings: {warnings}",
        paths.len(),
        rejected.len(),
        skipped.len()
    );
    for r in &rejected {
        println!("rejected: {r}");
    }
    for s in &skipped {
        println!("skipped: {s}");
    }
    for b in &broken {
        println!("BROKEN: {b}");
    }
    assert!(
        broken.is_empty(),
        "{} generated templates are broken",
        broken.len()
    );
    for r in &rejected {
        assert!(!r.contains('\n'), "reasons are one line: {r}");
        assert!(
            EXPECTED_REJECTIONS.iter().any(|e| r.starts_with(e)),
            "unexpected rejection: {r}"
        );
    }
    assert_eq!(
        rejected.len(),
        EXPECTED_REJECTIONS.len(),
        "every expected rejection still happens"
    );
}
