//! The roles and actions IBM defines for a service, fetched once per provider process.
//! Custom roles and policies check names against it at plan time.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::ibmcloud::{self, Client, RoleList};

#[derive(Default)]
pub struct RoleCatalog {
    by_service: Mutex<HashMap<String, Arc<RoleList>>>,
}

impl RoleCatalog {
    /// The service's roles as IBM lists them (cached).
    pub async fn roles(&self, client: &Client, service: &str) -> Result<Arc<RoleList>, ibmcloud::Error> {
        let mut cache = self.by_service.lock().await;
        if let Some(list) = cache.get(service) {
            return Ok(list.clone());
        }
        let list = Arc::new(client.list_roles(service).await?);
        cache.insert(service.to_string(), list.clone());
        Ok(list)
    }

    /// Fetches the service's roles again, replacing the cached list: for a custom role created
    /// after the list was cached (e.g. earlier in the same apply).
    pub async fn refresh(&self, client: &Client, service: &str) -> Result<Arc<RoleList>, ibmcloud::Error> {
        let list = Arc::new(client.list_roles(service).await?);
        self.by_service.lock().await.insert(service.to_string(), list.clone());
        Ok(list)
    }

    /// Every action of the service: those of its platform and service roles.
    pub async fn actions(&self, client: &Client, service: &str) -> Result<BTreeSet<String>, ibmcloud::Error> {
        let roles = self.roles(client, service).await?;
        Ok(service_actions(&roles))
    }
}

pub fn service_actions(roles: &RoleList) -> BTreeSet<String> {
    roles.system_roles.iter().chain(roles.service_roles.iter()).flat_map(|r| r.actions.iter().cloned()).collect()
}

/// The candidate closest to `wanted`, for "did you mean" hints.
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a String>) -> Option<&'a String> {
    candidates.into_iter().map(|c| (strsim::jaro_winkler(wanted, c), c)).max_by(|a, b| a.0.total_cmp(&b.0)).map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_action_is_suggested() {
        let actions: Vec<String> =
            ["quantum-computing.job.read", "quantum-computing.job.create", "quantum-computing.device.read"].map(String::from).to_vec();
        assert_eq!(closest("quantum-computing.job.raed", &actions).map(String::as_str), Some("quantum-computing.job.read"));
    }
}
