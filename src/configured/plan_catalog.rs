//! Qiskit Runtime plan names and catalog plan IDs. The four documented plans are built in and
//! resolved without a request; any other name or ID (the legacy `lite` and `paygo-standard`,
//! whose IDs are not published) is resolved through the Global Catalog, fetched at most once per
//! provider process.

use tokio::sync::OnceCell;

use crate::ibmcloud::global_catalog::CatalogPlan;
use crate::ibmcloud::resource_controller::QUANTUM_RESOURCE_ID;
use crate::ibmcloud::{self, Client};

/// Documented plans (org-workflow §2.3): (name, catalog plan ID).
pub const BUILT_IN_PLANS: [(&str, &str); 4] = [
    ("open", "850b21a7-71de-4e53-9441-1abdd202f35d"),
    ("pay-as-you-go", "5304b575-3cff-4455-90dc-ae4367762093"),
    ("flex", "53bde9d3-cdbb-46f5-a98f-60ebcadf7260"),
    ("premium", "7f666d17-7893-47d8-bf9d-2b2389fc4dfc"),
];

/// Legacy plans the provider accepts by name; their IDs come from the catalog.
pub const LEGACY_PLANS: [&str; 2] = ["lite", "paygo-standard"];

/// The built-in ID of a plan name.
pub fn built_in_id(name: &str) -> Option<&'static str> {
    BUILT_IN_PLANS.iter().find(|(n, _)| *n == name).map(|(_, id)| *id)
}

/// The built-in name of a plan ID.
pub fn built_in_name(id: &str) -> Option<&'static str> {
    BUILT_IN_PLANS.iter().find(|(_, i)| *i == id).map(|(n, _)| *n)
}

/// The quantum service's plans as the Global Catalog lists them, fetched on first need.
#[derive(Default)]
pub struct PlanCatalog {
    plans: OnceCell<Vec<CatalogPlan>>,
}

impl PlanCatalog {
    /// The catalog's plans (one request per process; a failed fetch is not cached, so the next
    /// caller tries again).
    pub async fn plans(&self, client: &Client) -> Result<&[CatalogPlan], ibmcloud::Error> {
        self.plans.get_or_try_init(|| client.list_plans(QUANTUM_RESOURCE_ID)).await.map(Vec::as_slice)
    }

    /// The plan ID of `name`: built in, else from the catalog; `None` when no plan has that name.
    pub async fn id_of(&self, client: &Client, name: &str) -> Result<Option<String>, ibmcloud::Error> {
        if let Some(id) = built_in_id(name) {
            return Ok(Some(id.to_owned()));
        }
        Ok(find_id(self.plans(client).await?, name))
    }

    /// The plan name of `id`: built in, else from the catalog; `None` when the catalog does not
    /// list it.
    pub async fn name_of(&self, client: &Client, id: &str) -> Result<Option<String>, ibmcloud::Error> {
        if let Some(name) = built_in_name(id) {
            return Ok(Some(name.to_owned()));
        }
        Ok(find_name(self.plans(client).await?, id))
    }

    /// Every plan name a configuration may use: the built-in ones, then the catalog's.
    pub async fn names(&self, client: &Client) -> Result<Vec<String>, ibmcloud::Error> {
        Ok(all_names(self.plans(client).await?))
    }
}

fn find_id(plans: &[CatalogPlan], name: &str) -> Option<String> {
    plans.iter().find(|p| p.name == name && !p.id.is_empty()).map(|p| p.id.clone())
}

fn find_name(plans: &[CatalogPlan], id: &str) -> Option<String> {
    plans.iter().find(|p| p.id == id && !p.name.is_empty()).map(|p| p.name.clone())
}

fn all_names(plans: &[CatalogPlan]) -> Vec<String> {
    let mut names: Vec<String> = BUILT_IN_PLANS.iter().map(|(n, _)| n.to_string()).collect();
    for plan in plans {
        if !plan.name.is_empty() && !names.contains(&plan.name) {
            names.push(plan.name.clone());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(name: &str, id: &str) -> CatalogPlan {
        CatalogPlan { id: id.into(), name: name.into(), kind: "plan".into(), ..Default::default() }
    }

    #[test]
    fn names_and_ids_map_both_ways() {
        assert_eq!(built_in_id("flex"), Some("53bde9d3-cdbb-46f5-a98f-60ebcadf7260"));
        assert_eq!(built_in_name("850b21a7-71de-4e53-9441-1abdd202f35d"), Some("open"));
        assert_eq!(built_in_id("lite"), None, "legacy plans are not built in");
        let catalog = [plan("open", BUILT_IN_PLANS[0].1), plan("lite", "l-1"), plan("paygo-standard", "s-1")];
        assert_eq!(find_id(&catalog, "lite").as_deref(), Some("l-1"));
        assert_eq!(find_name(&catalog, "s-1").as_deref(), Some("paygo-standard"));
        assert_eq!(find_id(&catalog, "gold"), None);
        assert_eq!(find_name(&catalog, "x-9"), None);
        assert_eq!(all_names(&catalog), ["open", "pay-as-you-go", "flex", "premium", "lite", "paygo-standard"]);
    }

    #[tokio::test]
    async fn the_catalog_is_fetched_once_and_built_ins_need_none() {
        use crate::ibmcloud::testing::{test_client, Mock, Reply};
        use serde_json::json;
        let path = format!("/api/v1/{QUANTUM_RESOURCE_ID}/plan");
        let mock = Mock::start(|_, _| {
            Reply::json(200, json!({"offset": 0, "limit": 200, "count": 1, "resource_count": 1, "resources": [{"id": "l-1", "name": "lite", "kind": "plan"}]}))
        })
        .await;
        let client = test_client(&mock, 0);
        let catalog = PlanCatalog::default();
        assert_eq!(catalog.id_of(&client, "premium").await.unwrap().as_deref(), Some(BUILT_IN_PLANS[3].1));
        assert_eq!(catalog.name_of(&client, BUILT_IN_PLANS[1].1).await.unwrap().as_deref(), Some("pay-as-you-go"));
        assert_eq!(mock.count("GET", &path), 0, "built-in plans need no request");
        assert_eq!(catalog.id_of(&client, "lite").await.unwrap().as_deref(), Some("l-1"));
        assert_eq!(catalog.name_of(&client, "l-1").await.unwrap().as_deref(), Some("lite"));
        assert_eq!(catalog.id_of(&client, "gold").await.unwrap(), None);
        assert!(catalog.names(&client).await.unwrap().contains(&"lite".to_string()));
        assert_eq!(mock.count("GET", &path), 1, "one fetch per process");
    }
}
