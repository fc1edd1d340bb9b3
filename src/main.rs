//! terraform-provider-ibmqr: started by Terraform or OpenTofu, never by hand.

use std::process::ExitCode;
use std::sync::Arc;

use terraform_provider_ibmqr::plugin::handshake::{MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
use terraform_provider_ibmqr::{logging, plugin, provider::IbmqrProvider};

const NOT_BY_HAND: &str = "\
This is terraform-provider-ibmqr, a Terraform plugin: Terraform or OpenTofu start it, not you.
Declare it in your configuration and run `terraform plan`:

  terraform {
    required_providers {
      ibmqr = { source = \"ibmqr/ibmqr\" }
    }
  }
";

fn main() -> ExitCode {
    // Release scripts and people ask which build this is; the version is Cargo.toml's.
    if std::env::args().nth(1).as_deref() == Some("--version") {
        println!("terraform-provider-ibmqr {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    if std::env::var(MAGIC_COOKIE_KEY).as_deref() != Ok(MAGIC_COOKIE_VALUE) {
        eprint!("{NOT_BY_HAND}");
        return ExitCode::from(1);
    }
    logging::init();
    // On Ctrl-C Terraform signals the whole process group, then sends StopProvider: ignoring
    // SIGINT lets in-flight operations finish cancelling and report what they created.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(plugin::run(Arc::new(IbmqrProvider)));
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
