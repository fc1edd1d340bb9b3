//! The provider's configured state: what ConfigureProvider builds once per provider process and
//! every resource and data source operation reads. It is not a Terraform type, so it lives apart
//! from `resources/` and `data_sources/`, and both use it.

pub mod plan_catalog;
pub mod role_catalog;

use std::fmt::Display;

use crate::framework::{Context, Diagnostics, OpError, OpResult};
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

/// An IBM Cloud error as a diagnostic: `creating custom role QiskitUser: 409 role_conflict_error: …`.
pub fn api_error(doing: &str, err: &ibmcloud::Error) -> Diagnostics {
    Diagnostics::error("IBM Cloud request failed", format!("{doing}: {err}"))
}

/// A client error, with what was being done: `client.get_role(id).await.context("reading role R")?`.
impl<T> Context<T> for Result<T, ibmcloud::Error> {
    fn context(self, doing: impl Display) -> OpResult<T> {
        self.map_err(|e| api_error(&doing.to_string(), &e).into())
    }
}

/// A client error where the call site needs no words of its own.
impl From<ibmcloud::Error> for OpError {
    fn from(e: ibmcloud::Error) -> Self {
        api_error("calling IBM Cloud", &e).into()
    }
}
