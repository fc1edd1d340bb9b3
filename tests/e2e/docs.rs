//! docs/ follows the schemas and examples/: every attribute is documented and every example is
//! shown on its page as it stands in examples/.

use std::path::PathBuf;

use terraform_provider_ibmqr::framework::{Block, Provider};
use terraform_provider_ibmqr::provider::IbmqrProvider;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn attribute_names(block: &Block, out: &mut Vec<String>) {
    out.extend(block.attributes.iter().map(|a| a.name.clone()));
    for b in &block.blocks {
        out.push(b.name.clone());
        attribute_names(&b.block, out);
    }
}

fn check(kind: &str, example_dir: &str, example_file: &str, type_name: &str, block: &Block) {
    let short = type_name.trim_start_matches("ibmqr_");
    let page = read(root().join(format!("docs/{kind}/{short}.md")));
    let mut names = vec![];
    attribute_names(block, &mut names);
    for name in names {
        assert!(page.contains(&format!("`{name}`")), "docs/{kind}/{short}.md does not document `{name}`");
    }
    let example = read(root().join(format!("examples/{example_dir}/{type_name}/{example_file}")));
    assert!(
        page.contains(example.trim()),
        "docs/{kind}/{short}.md does not show examples/{example_dir}/{type_name}/{example_file} as it is"
    );
    if kind == "resources" {
        let import = read(root().join(format!("examples/resources/{type_name}/import.sh")));
        assert!(page.contains(import.trim()), "docs/resources/{short}.md does not show its import.sh");
    }
}

#[test]
fn every_resource_and_data_source_has_a_page_in_sync() {
    for r in IbmqrProvider.resources() {
        check("resources", "resources", "resource.tf", r.type_name(), &r.schema().block);
    }
    for d in IbmqrProvider.data_sources() {
        check("data-sources", "data-sources", "data-source.tf", d.type_name(), &d.schema().block);
    }
    let index = read(root().join("docs/index.md"));
    let mut names = vec![];
    attribute_names(&IbmqrProvider.schema().block, &mut names);
    for name in names {
        assert!(index.contains(&format!("`{name}`")), "docs/index.md does not document `{name}`");
    }
}
