//! docs/ is generated (`make docs`) from the provider's schemas and examples/: the pages in the
//! repository must be exactly what the generator writes now, so a schema change without
//! `make docs` fails here. docs/guides/ is the exception: hand-written pages in the Registry
//! layout, which the generator never writes.

use std::collections::BTreeSet;
use std::path::PathBuf;

use terraform_provider_ibmqr::framework::docs::render_all;
use terraform_provider_ibmqr::provider::{IbmqrProvider, PROVIDER_NAME};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn docs_are_exactly_what_make_docs_writes() {
    let pages = render_all(&IbmqrProvider, PROVIDER_NAME, &root().join("examples")).expect("docs render");
    let mut stale = vec![];
    for page in &pages {
        let path = root().join("docs").join(&page.path);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        if on_disk != page.text {
            let line = on_disk.lines().zip(page.text.lines()).position(|(a, b)| a != b).map_or(0, |i| i + 1);
            stale.push(format!("docs/{} (first difference near line {line})", page.path));
        }
    }
    assert!(stale.is_empty(), "docs/ is out of date; run `make docs` and commit the result:\n  {}", stale.join("\n  "));
}

#[test]
fn every_type_page_is_generated() {
    let pages = render_all(&IbmqrProvider, PROVIDER_NAME, &root().join("examples")).expect("docs render");
    let generated: BTreeSet<String> = pages.iter().map(|p| p.path.clone()).collect();
    for kind in ["resources", "data-sources", "list-resources"] {
        for entry in std::fs::read_dir(root().join("docs").join(kind)).expect("docs dir") {
            let name = entry.expect("entry").file_name().to_string_lossy().to_string();
            let path = format!("{kind}/{name}");
            assert!(generated.contains(&path), "docs/{path} is not generated from any type: remove it or register its type");
        }
    }
}

/// The guides the README and the issue promise are there, hand-written (no generated page lives
/// under guides/), each a Markdown page with the Registry's front matter.
#[test]
fn guides_are_hand_written_registry_pages() {
    let pages = render_all(&IbmqrProvider, PROVIDER_NAME, &root().join("examples")).expect("docs render");
    assert!(pages.iter().all(|p| !p.path.starts_with("guides/")), "the generator must not write guides");
    let dir = root().join("docs/guides");
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("docs/guides") {
        let name = entry.expect("entry").file_name().to_string_lossy().to_string();
        assert!(name.ends_with(".md"), "docs/guides/{name} is not a Markdown page");
        let text = std::fs::read_to_string(dir.join(&name)).expect("guide");
        let front = text.strip_prefix("---\n").and_then(|rest| rest.split_once("\n---\n")).map(|(front, _)| front);
        let front = front.unwrap_or_else(|| panic!("docs/guides/{name} has no front matter"));
        for field in ["page_title: ", "subcategory: \"Guides\"", "description: "] {
            assert!(front.contains(field), "docs/guides/{name}: front matter lacks {field:?}");
        }
        found.insert(name);
    }
    for required in
        ["migrating-from-terraform-provider-ibm.md", "testing-modules-without-a-cloud-account.md", "adopting-an-existing-account.md"]
    {
        assert!(found.contains(required), "docs/guides/{required} is missing");
    }
}
