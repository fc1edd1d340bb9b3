//! Resource Controller: resource instances (`/v2/resource_instances`) and reclamations
//! (`/v1/reclamations`). No ETags. An instance's `id` is its CRN; GET takes the GUID or the CRN.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{path_segment, poll_until, Api, ApiResponse, Client, Error, Method, PageStyle, Poll, Uniqueness};

/// Catalog id of the Qiskit Runtime (`quantum-computing`) service.
pub const QUANTUM_RESOURCE_ID: &str = "b6049020-80f4-11eb-a0f7-e35ec9b4054f";

/// The `last_operation` of an instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LastOperation {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// `in progress`, `succeeded`, `failed`.
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub r#async: Option<bool>,
    #[serde(default)]
    pub description: Option<String>,
}

/// A resource instance, as much of it as the provider uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceInstance {
    /// Equals `crn`.
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub guid: String,
    #[serde(default)]
    pub crn: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub region_id: String,
    #[serde(default)]
    pub account_id: String,
    #[serde(default)]
    pub resource_id: String,
    #[serde(default)]
    pub resource_plan_id: String,
    #[serde(default)]
    pub resource_group_id: String,
    /// `active`, `provisioning`, `inactive`, `failed`, `pending_reclamation`, `removed`, ...
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub parameters: Option<Value>,
    /// What the service applied (normalised parameters): read settings from here.
    #[serde(default)]
    pub extensions: Option<Value>,
    #[serde(default)]
    pub last_operation: Option<LastOperation>,
    #[serde(default)]
    pub created_at: Option<String>,
}

impl ResourceInstance {
    /// Deleted, whether still reclaimable or not: no longer an instance anyone can use.
    pub fn is_deleted(&self) -> bool {
        matches!(self.state.as_str(), "removed" | "pending_reclamation")
    }

    /// An integer setting from `extensions` (IBM sends numbers; strings are accepted too).
    pub fn extension_u64(&self, key: &str) -> Option<u64> {
        match self.extensions.as_ref()?.get(key)? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// A list of strings from `extensions`.
    pub fn extension_strings(&self, key: &str) -> Option<Vec<String>> {
        let items = self.extensions.as_ref()?.get(key)?.as_array()?;
        Some(items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
    }
}

/// Body of `POST /v2/resource_instances`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewResourceInstance {
    pub name: String,
    /// A region such as `us-east` (or a catalog deployment CRN).
    pub target: String,
    pub resource_group: String,
    pub resource_plan_id: String,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<String, Value>,
}

/// Body of `PATCH /v2/resource_instances/{id}`; absent fields are left alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InstanceUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_plan_id: Option<String>,
    /// Must carry a changing `timestamp`, or RC may drop the PATCH as a duplicate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Map<String, Value>>,
}

impl InstanceUpdate {
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.resource_plan_id.is_none() && self.parameters.is_none()
    }
}

/// A pending reclamation of a deleted instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reclamation {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub resource_instance_id: String,
    #[serde(default)]
    pub resource_group_id: String,
    #[serde(default)]
    pub entity_crn: String,
    /// `SCHEDULED` (waiting out its retention period, for days), `RECLAIMING` (IBM is purging the
    /// instance), `RESTORING`, ...
    #[serde(default)]
    pub state: String,
}

impl Reclamation {
    /// IBM is purging the instance: the reclamation ends by itself, soon, so it is worth waiting
    /// for. Any other state (above all `SCHEDULED`) lasts until someone acts, so it never is.
    /// IBM's docs write the states in upper case; whether every answer does is UNCERTAIN, so the
    /// case is ignored.
    pub fn is_reclaiming(&self) -> bool {
        self.state.eq_ignore_ascii_case("RECLAIMING")
    }

    /// The deleted instance's CRN, or its GUID when IBM did not say.
    pub fn instance(&self) -> &str {
        if self.entity_crn.is_empty() {
            &self.resource_instance_id
        } else {
            &self.entity_crn
        }
    }
}

/// Filters of `GET /v2/resource_instances`.
#[derive(Debug, Clone, Default)]
pub struct InstanceFilter<'a> {
    pub resource_id: Option<&'a str>,
    pub name: Option<&'a str>,
    pub resource_group_id: Option<&'a str>,
    pub guid: Option<&'a str>,
}

fn instance_path(id: &str) -> String {
    format!("/v2/resource_instances/{}", path_segment(id))
}

impl Client {
    /// Creates an instance. Names need not be unique, so the live instances of the same name and
    /// group are noted first: when the outcome of the create is unknown, only an instance that was
    /// not there before (same name, plan and group) is taken as the one just made.
    pub async fn create_resource_instance(&self, new: &NewResourceInstance) -> Result<ResourceInstance, Error> {
        let filter = InstanceFilter { name: Some(&new.name), resource_group_id: Some(&new.resource_group), ..Default::default() };
        let existing: std::collections::HashSet<String> =
            self.list_resource_instances(&filter).await?.into_iter().map(|i| i.guid).collect();
        let (filter, existing) = (&filter, &existing);
        let resp = self
            .create_with_lookup(
                || self.request(Api::ResourceController, Method::POST, "/v2/resource_instances").json(new),
                || async move {
                    let mut found: Vec<ResourceInstance> = self
                        .list_resource_instances(filter)
                        .await?
                        .into_iter()
                        .filter(|i| i.resource_plan_id == new.resource_plan_id && !i.is_deleted() && !existing.contains(&i.guid))
                        .collect();
                    found.sort_by(|a, b| a.created_at.cmp(&b.created_at));
                    Ok(found.pop().map(|i| ApiResponse {
                        status: 200,
                        etag: None,
                        body: serde_json::to_value(&i).unwrap_or_default(),
                        headers: Default::default(),
                    }))
                },
                // Names need not be unique: a retry could make a second instance, so the look
                // waits out the lag first.
                Uniqueness::NotEnforced,
                |_| true,
            )
            .await?;
        resp.json()
    }

    /// The instance by GUID or CRN, deleted ones included (state `removed`); `None` on 404.
    pub async fn get_resource_instance(&self, id: &str) -> Result<Option<ResourceInstance>, Error> {
        match self.request(Api::ResourceController, Method::GET, instance_path(id)).send().await {
            Ok(resp) => Ok(Some(resp.json()?)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Live (active or provisioning) instances matching `filter`, all pages.
    pub async fn list_resource_instances(&self, filter: &InstanceFilter<'_>) -> Result<Vec<ResourceInstance>, Error> {
        let mut query: Vec<(&str, &str)> = Vec::new();
        for (key, value) in [
            ("resource_id", filter.resource_id),
            ("name", filter.name),
            ("resource_group_id", filter.resource_group_id),
            ("guid", filter.guid),
        ] {
            if let Some(v) = value {
                query.push((key, v));
            }
        }
        let items = self.collect_pages(Api::ResourceController, "/v2/resource_instances", &query, "resources", PageStyle::NextUrl).await?;
        items.into_iter().map(|v| serde_json::from_value(v).map_err(|e| Error::Decode(format!("resource instance: {e}")))).collect()
    }

    /// Renames, changes the plan or the parameters of an instance.
    pub async fn update_resource_instance(&self, id: &str, update: &InstanceUpdate) -> Result<ResourceInstance, Error> {
        self.request(Api::ResourceController, Method::PATCH, instance_path(id)).json(update).send().await?.json()
    }

    /// Deletes an instance with its keys (`recursive=true`); 404 and 410 (already deleted) count
    /// as deleted.
    pub async fn delete_resource_instance(&self, id: &str) -> Result<(), Error> {
        match self.request(Api::ResourceController, Method::DELETE, instance_path(id)).query("recursive", "true").send().await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() || e.status() == Some(410) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Pending reclamations of one instance (by GUID) or of one resource group.
    pub async fn list_reclamations(
        &self,
        resource_instance_id: Option<&str>,
        resource_group_id: Option<&str>,
    ) -> Result<Vec<Reclamation>, Error> {
        let account_id = self.identity().await?.account_id;
        let mut req = self.request(Api::ResourceController, Method::GET, "/v1/reclamations").query("account_id", &account_id);
        if let Some(id) = resource_instance_id {
            req = req.query("resource_instance_id", id);
        }
        if let Some(id) = resource_group_id {
            req = req.query("resource_group_id", id);
        }
        let body = req.send().await?.body;
        let items = body.get("resources").cloned().unwrap_or(Value::Array(vec![]));
        serde_json::from_value(items).map_err(|e| Error::Decode(format!("reclamations: {e}")))
    }

    /// Purges the deleted instance `crn` (GUID `guid`) and waits until IBM has removed it. Every
    /// poll reclaims each of its reclamations not yet `RECLAIMING`, so the wait is only ever on a
    /// reclamation this purge acted on: one that IBM lists late (eventual consistency) is
    /// reclaimed when it shows up, and one already `RECLAIMING` is left to IBM.
    pub async fn purge_instance(
        &self,
        cancel: &CancellationToken,
        crn: &str,
        guid: &str,
        timeout: Duration,
        comment: &str,
    ) -> Result<(), Error> {
        poll_until(cancel, timeout, &format!("instance {crn} to be purged"), || async move {
            if self.get_resource_instance(crn).await?.is_none_or(|i| i.state == "removed") {
                return Ok(Poll::Ready(()));
            }
            for reclamation in self.list_reclamations(Some(guid), None).await? {
                if !reclamation.is_reclaiming() {
                    self.reclaim(&reclamation.id, comment).await?;
                }
            }
            Ok(Poll::Pending("being reclaimed".into()))
        })
        .await
    }

    /// Purges a deleted instance now instead of at the end of its reclamation period. A
    /// reclamation already gone (404, 410) was reclaimed or restored meanwhile: that is success.
    /// So is a 409 ("already being reclaimed"): typically this client's own earlier reclaim whose
    /// answer was lost; the caller's wait on the reclamation's state decides what follows. IBM's
    /// code for it is UNCERTAIN, so any 409 counts.
    pub async fn reclaim(&self, reclamation_id: &str, comment: &str) -> Result<(), Error> {
        let path = format!("/v1/reclamations/{}/actions/reclaim", path_segment(reclamation_id));
        let sent = self
            .request(Api::ResourceController, Method::POST, path)
            .json(&serde_json::json!({"request_by": "terraform-provider-ibmqr", "comment": comment}))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() || matches!(e.status(), Some(409 | 410)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::ibmcloud::testing::{query_map, test_client, Mock, Reply};
    use serde_json::json;

    #[tokio::test]
    async fn get_by_crn_encodes_it_and_reads_extensions() {
        let crn = "crn:v1:bluemix:public:quantum-computing:us-east:a/acc:g1::";
        let mock = Mock::start(|req, _| {
            assert_eq!(req.path, "/v2/resource_instances/crn%3Av1%3Abluemix%3Apublic%3Aquantum-computing%3Aus-east%3Aa%2Facc%3Ag1%3A%3A");
            Reply::json(
                200,
                json!({"id": "x", "guid": "g1", "state": "active",
                "extensions": {"instance_limit_seconds": 600, "usage_allocation_seconds": "30", "backends": ["ANY"]}}),
            )
        })
        .await;
        let inst = test_client(&mock, 0).get_resource_instance(crn).await.unwrap().unwrap();
        assert_eq!(inst.extension_u64("instance_limit_seconds"), Some(600));
        assert_eq!(inst.extension_u64("usage_allocation_seconds"), Some(30));
        assert_eq!(inst.extension_strings("backends"), Some(vec!["ANY".to_string()]));
    }

    /// A purge reclaims the scheduled reclamation it finds, then only waits while IBM reclaims: it
    /// never reclaims one that is already reclaiming (IBM's case is UNCERTAIN: lower case here).
    #[tokio::test]
    async fn purge_reclaims_once_then_waits_only_while_reclaiming() {
        let mock = Mock::start(|req, n| match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/v2/resource_instances/g1") => {
                Reply::json(200, json!({"guid": "g1", "state": if n < 3 { "pending_reclamation" } else { "removed" }}))
            }
            ("GET", "/v1/reclamations") => {
                let state = if n == 0 { "SCHEDULED" } else { "reclaiming" };
                Reply::json(200, json!({"resources": [{"id": "r1", "resource_instance_id": "g1", "state": state}]}))
            }
            ("POST", "/v1/reclamations/r1/actions/reclaim") => Reply::json(200, json!({"id": "r1", "state": "RECLAIMING"})),
            _ => Reply::text(404, ""),
        })
        .await;
        let cancel = tokio_util::sync::CancellationToken::new();
        test_client(&mock, 0).purge_instance(&cancel, "g1", "g1", std::time::Duration::from_secs(60), "test").await.unwrap();
        assert_eq!(mock.count("POST", "/v1/reclamations/r1/actions/reclaim"), 1, "reclaimed once");
        assert_eq!(mock.count("GET", "/v2/resource_instances/g1"), 4, "waited until removed");
    }

    /// A create whose answer is lost must not take an instance that was there before it for the
    /// new one, even with the same name, plan and group: names need not be unique.
    #[tokio::test]
    async fn lost_create_answer_never_adopts_a_preexisting_instance() {
        let instance = |guid: &str, created: &str| {
            json!({"id": format!("crn:{guid}"), "crn": format!("crn:{guid}"), "guid": guid, "name": "qr", "state": "active",
                   "resource_plan_id": "p", "resource_group_id": "rg", "created_at": created})
        };
        // The new one even looks older than the one that was there before.
        let stamp = |hours: i64| {
            let at = time::OffsetDateTime::now_utc() + time::Duration::hours(hours);
            at.format(&time::format_description::well_known::Rfc3339).expect("time")
        };
        let (old, new) = (instance("old", &stamp(1)), instance("new", &stamp(0)));
        let mock = Mock::start(move |req, n| match (req.method.as_str(), req.path.as_str()) {
            // Noted before the create: only the old one; afterwards both (the new one even looks older).
            ("GET", "/v2/resource_instances") if n == 0 => Reply::json(200, json!({"rows_count": 1, "resources": [old.clone()]})),
            ("GET", "/v2/resource_instances") => Reply::json(200, json!({"rows_count": 2, "resources": [old.clone(), new.clone()]})),
            ("POST", _) => Reply::json(500, json!({"error_code": "RC-Internal", "message": "lost", "status_code": 500})),
            _ => Reply::text(404, ""),
        })
        .await;
        let client = test_client(&mock, 3);
        let new_instance = super::NewResourceInstance {
            name: "qr".into(),
            target: "us-east".into(),
            resource_group: "rg".into(),
            resource_plan_id: "p".into(),
            parameters: Default::default(),
        };
        let created = client.create_resource_instance(&new_instance).await.unwrap();
        assert_eq!(created.guid, "new");
        assert_eq!(mock.count("POST", "/v2/resource_instances"), 1, "found by the lookup, not created twice");
    }

    #[tokio::test]
    async fn delete_treats_gone_as_deleted_and_sends_recursive() {
        let mock = Mock::start(|req, n| {
            assert_eq!(query_map(&req.query)["recursive"], "true");
            if n == 0 {
                Reply::text(204, "")
            } else {
                Reply::json(410, json!({"error_code":"RC-Gone","message":"gone","status_code":410}))
            }
        })
        .await;
        let client = test_client(&mock, 0);
        client.delete_resource_instance("g1").await.unwrap();
        client.delete_resource_instance("g1").await.unwrap();
    }

    /// A reclaim whose answer was lost is sent again and meets "already being reclaimed": done.
    #[tokio::test]
    async fn a_reclaim_already_under_way_counts_as_done() {
        let mock = Mock::start(|_, n| match n {
            0 => Reply::json(500, json!({"error_code": "RC-Internal", "message": "lost"})),
            _ => Reply::json(
                409,
                json!({"error_code": "RC-ReclamationActionConflict", "message": "already being reclaimed", "status_code": 409}),
            ),
        })
        .await;
        test_client(&mock, 3).reclaim("r-1", "purge").await.expect("a conflict means it is being reclaimed");
        assert_eq!(mock.count("POST", "/v1/reclamations/r-1/actions/reclaim"), 2);
    }
}
