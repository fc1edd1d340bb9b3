//! Data sources: one file per Terraform type. Adding one = one file here and one line in [`all`].

use std::sync::Arc;

use crate::framework::DataSource;

pub mod access_group;
pub mod account;
pub mod instance;
pub mod resource_group;
pub mod service_roles;

pub fn all() -> Vec<Arc<dyn DataSource>> {
    vec![
        Arc::new(account::Account),
        Arc::new(service_roles::ServiceRoles),
        Arc::new(resource_group::ResourceGroup),
        Arc::new(instance::Instance),
        Arc::new(access_group::AccessGroupData),
    ]
}
