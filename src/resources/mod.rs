//! Resources: one file per Terraform type, each holding its schema, plan checks, CRUD, import
//! and unit tests. Adding a resource = one file here and one line in [`all`].

use std::sync::Arc;

use crate::framework::{Ctx, Diagnostics, Resource};
use crate::ibmcloud::{self, Client};

pub mod access_group;
pub mod access_group_dynamic_rule;
pub mod access_group_member;
pub mod access_group_members;
pub mod access_group_policy;
pub mod account_settings;
pub mod custom_role;
pub mod instance;
pub mod plan_catalog;
pub mod resource_group;
pub mod role_catalog;
pub mod user_invite;

/// Every resource type the provider serves.
pub fn all() -> Vec<Arc<dyn Resource>> {
    vec![
        Arc::new(custom_role::CustomRole),
        Arc::new(account_settings::AccountSettingsResource),
        Arc::new(access_group_policy::AccessGroupPolicy),
        Arc::new(resource_group::ResourceGroup),
        Arc::new(instance::Instance),
        Arc::new(access_group::AccessGroupResource),
        Arc::new(access_group_members::AccessGroupMembers),
        Arc::new(access_group_member::AccessGroupMember),
        Arc::new(access_group_dynamic_rule::AccessGroupDynamicRule),
        Arc::new(user_invite::UserInvite),
    ]
}

/// What ConfigureProvider builds and every operation reaches through [`Ctx`].
pub struct ProviderState {
    pub client: Client,
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
