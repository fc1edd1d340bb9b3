//! Resource Manager: resource groups (`/v2/resource_groups`). No ETags; lists are not paginated.

use serde::{Deserialize, Serialize};

use super::{path_segment, Api, ApiResponse, Client, Error, Method, Uniqueness};

/// A resource group of the account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceGroup {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub crn: String,
    #[serde(default)]
    pub account_id: String,
    #[serde(default)]
    pub name: String,
    /// `ACTIVE`, ...
    #[serde(default)]
    pub state: String,
    /// True for the account's default group.
    #[serde(default)]
    pub default: bool,
}

impl ResourceGroup {
    /// IBM may keep a deleted group readable with a deleted state (UNCERTAIN); it counts as gone.
    pub fn is_deleted(&self) -> bool {
        self.state.eq_ignore_ascii_case("deleted")
    }
}

/// The error code Resource Manager gives for a duplicate group name.
pub const GROUP_NAME_TAKEN: &str = "RESOURCE_GROUP_NAME_UNIQUENESS";

#[derive(Deserialize)]
pub(crate) struct GroupList {
    #[serde(default)]
    pub(crate) resources: Vec<ResourceGroup>,
}

impl Client {
    /// The account's groups, optionally only the one(s) named `name` or only the default one.
    pub async fn list_resource_groups(&self, name: Option<&str>, default_only: bool) -> Result<Vec<ResourceGroup>, Error> {
        let account_id = self.identity().await?.account_id;
        let mut req = self.request(Api::ResourceManager, Method::GET, "/v2/resource_groups").query("account_id", &account_id);
        if let Some(name) = name {
            req = req.query("name", name);
        }
        if default_only {
            req = req.query("default", "true");
        }
        let list: GroupList = req.send().await?.json()?;
        Ok(list.resources.into_iter().filter(|g| !g.is_deleted()).collect())
    }

    /// The account's default group (what the console calls `Default`).
    pub async fn default_resource_group(&self) -> Result<Option<ResourceGroup>, Error> {
        Ok(self.list_resource_groups(None, true).await?.into_iter().find(|g| g.default))
    }

    /// Creates a group; returns its id and CRN (the answer holds nothing else). An unknown outcome
    /// is resolved by looking the name up, so no second group is made.
    pub async fn create_resource_group(&self, name: &str) -> Result<ResourceGroup, Error> {
        let account_id = self.identity().await?.account_id;
        let body = serde_json::json!({"name": name, "account_id": account_id});
        let resp = self
            .create_with_lookup(
                || self.request(Api::ResourceManager, Method::POST, "/v2/resource_groups").json(&body),
                || async {
                    let found = self.list_resource_groups(Some(name), false).await?.into_iter().find(|g| g.name == name);
                    Ok(found.map(|g| ApiResponse {
                        status: 200,
                        etag: None,
                        body: serde_json::to_value(&g).unwrap_or_default(),
                        headers: Default::default(),
                    }))
                },
                // A taken name is a 400 `RESOURCE_GROUP_NAME_UNIQUENESS`.
                Uniqueness::Enforced,
                |found| found["name"].as_str() == Some(name),
            )
            .await?;
        let mut group: ResourceGroup = resp.json()?;
        if group.name.is_empty() {
            group.name = name.to_string();
        }
        Ok(group)
    }

    /// The group, or `None` when it does not exist (or is deleted).
    pub async fn get_resource_group(&self, id: &str) -> Result<Option<ResourceGroup>, Error> {
        match self.request(Api::ResourceManager, Method::GET, format!("/v2/resource_groups/{}", path_segment(id))).send().await {
            Ok(resp) => Ok(Some(resp.json::<ResourceGroup>()?).filter(|g| !g.is_deleted())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Renames a group.
    pub async fn rename_resource_group(&self, id: &str, name: &str) -> Result<ResourceGroup, Error> {
        self.request(Api::ResourceManager, Method::PATCH, format!("/v2/resource_groups/{}", path_segment(id)))
            .json(&serde_json::json!({"name": name}))
            .send()
            .await?
            .json()
    }

    /// Deletes a group; one that is already gone counts as deleted.
    pub async fn delete_resource_group(&self, id: &str) -> Result<(), Error> {
        self.request(Api::ResourceManager, Method::DELETE, format!("/v2/resource_groups/{}", path_segment(id))).send_absent_ok().await
    }
}

#[cfg(test)]
mod tests {
    use crate::ibmcloud::testing::{query_map, test_client, Mock, Reply};
    use serde_json::json;

    #[tokio::test]
    async fn default_group_and_crud() {
        let mock = Mock::start(|req, _| {
            let q = query_map(&req.query);
            match (req.method.as_str(), req.path.as_str()) {
                ("GET", "/v2/resource_groups") if q.get("default").map(String::as_str) == Some("true") => {
                    Reply::json(200, json!({"resources":[{"id":"d1","name":"Default","default":true,"state":"ACTIVE","crn":"crn:d1"}]}))
                }
                ("POST", "/v2/resource_groups") => Reply::json(201, json!({"id":"g1","crn":"crn:g1"})),
                ("GET", "/v2/resource_groups/g1") => Reply::json(200, json!({"id":"g1","name":"dev","state":"ACTIVE","default":false})),
                ("GET", _) => Reply::json(404, json!({"errors":[{"code":"not_found","message":"no"}]})),
                ("PATCH", "/v2/resource_groups/g1") => Reply::json(200, json!({"id":"g1","name":"prod"})),
                ("DELETE", "/v2/resource_groups/g1") => Reply::text(204, ""),
                _ => Reply::json(404, json!({})),
            }
        })
        .await;
        let client = test_client(&mock, 0);
        assert_eq!(client.default_resource_group().await.unwrap().unwrap().id, "d1");
        let created = client.create_resource_group("dev").await.unwrap();
        assert_eq!((created.id.as_str(), created.name.as_str()), ("g1", "dev"));
        assert_eq!(client.get_resource_group("g1").await.unwrap().unwrap().name, "dev");
        assert!(client.get_resource_group("nope").await.unwrap().is_none());
        assert_eq!(client.rename_resource_group("g1", "prod").await.unwrap().name, "prod");
        client.delete_resource_group("g1").await.unwrap();
        client.delete_resource_group("gone").await.unwrap();
    }
}
