//! ibmqr: a Terraform provider (plugin protocol 6) for setting up IBM Cloud for Qiskit Runtime
//! organizations.
//!
//! Layers, each knowing only those below it:
//! `plugin` (tfplugin6 gRPC server) → `framework` (resource traits, values, diagnostics)
//! → `resources` / `data_sources` → `configured` (the client and per-process catalogs) and
//! `plan_checks` (IBM's naming rules) → `ibmcloud` (REST client). `emulator` is a separate
//! reading of the same IBM API facts and shares no code with `ibmcloud`.

pub mod configured;
pub mod data_sources;
pub mod emulator;
pub mod framework;
/// Public for the fuzz crate (`fuzz/`) and the corpus replay test (`tests/fuzz_corpus.rs`),
/// which call its targets from outside the crate; not part of the provider's API.
#[doc(hidden)]
pub mod fuzzing;
pub mod ibmcloud;
pub mod logging;
pub mod plan_checks;
pub mod plugin;
pub mod provider;
pub mod resources;
