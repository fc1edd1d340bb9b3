//! Data sources: one file per Terraform type. Adding one = one file here and one line in [`all`].

use std::sync::Arc;

use crate::configured::ProviderState;
use crate::framework::{data_source, AnyDataSource};

pub mod access_group;
pub mod account;
pub mod instance;
pub mod resource_group;
pub mod service_roles;
pub mod user;

pub fn all() -> Vec<Arc<dyn AnyDataSource<ProviderState>>> {
    vec![
        data_source(account::Account),
        data_source(service_roles::ServiceRoles),
        data_source(resource_group::ResourceGroup),
        data_source(instance::Instance),
        data_source(access_group::AccessGroupData),
        data_source(user::User),
    ]
}
