//! `make docs`: writes docs/ from the provider's schemas and examples/ (see framework::docs).

use std::path::PathBuf;
use std::process::ExitCode;

use terraform_provider_ibmqr::framework::docs::render_all;
use terraform_provider_ibmqr::provider::{IbmqrProvider, PROVIDER_NAME};

fn main() -> ExitCode {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let pages = match render_all(&IbmqrProvider, PROVIDER_NAME, &root.join("examples")) {
        Ok(pages) => pages,
        Err(e) => {
            eprintln!("ibmqr-docs: {e}");
            return ExitCode::FAILURE;
        }
    };
    for page in pages {
        let path = root.join("docs").join(&page.path);
        let written = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&path, &page.text));
        if let Err(e) = written {
            eprintln!("ibmqr-docs: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("wrote docs/{}", page.path);
    }
    ExitCode::SUCCESS
}
