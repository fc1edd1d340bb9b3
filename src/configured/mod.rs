//! The provider's configured state: what ConfigureProvider builds once per provider process and
//! every resource and data source operation reads. It is not a Terraform type, so it lives apart
//! from `resources/` and `data_sources/`, and both use it.

pub mod plan_catalog;
pub mod role_catalog;

use crate::framework::{Ctx, Diagnostics};
use crate::ibmcloud::{self, Client};

/// What ConfigureProvider builds and every operation reaches through [`Ctx`].
pub struct ProviderState {
    pub client: Client,
    /// The provider's `region`: the default of every regional resource.
    pub region: String,
    /// Roles and actions per service, fetched once per provider process.
    pub roles: role_catalog::RoleCatalog,
    /// Qiskit Runtime plans from the Global Catalog, fetched at most once per provider process.
    pub plan_catalog: plan_catalog::PlanCatalog,
}

impl ProviderState {
    pub fn new(client: Client, region: String) -> Self {
        Self { client, region, roles: role_catalog::RoleCatalog::default(), plan_catalog: plan_catalog::PlanCatalog::default() }
    }
}

/// The configured provider state of an operation.
pub fn provider(ctx: &Ctx) -> Result<&ProviderState, Diagnostics> {
    ctx.provider::<ProviderState>()
}

/// An IBM Cloud error as a diagnostic: `creating custom role QiskitUser: 409 role_conflict_error: …`.
pub fn api_error(doing: &str, err: &ibmcloud::Error) -> Diagnostics {
    Diagnostics::error("IBM Cloud request failed", format!("{doing}: {err}"))
}
