//! docs/ is generated (`make docs`) from the provider's schemas and examples/: the pages in the
//! repository must be exactly what the generator writes now, so a schema change without
//! `make docs` fails here.

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
    for kind in ["resources", "data-sources"] {
        for entry in std::fs::read_dir(root().join("docs").join(kind)).expect("docs dir") {
            let name = entry.expect("entry").file_name().to_string_lossy().to_string();
            let path = format!("{kind}/{name}");
            assert!(generated.contains(&path), "docs/{path} is not generated from any type: remove it or register its type");
        }
    }
}
