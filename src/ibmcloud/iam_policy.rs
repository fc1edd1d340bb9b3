//! IAM Policy Management: roles (`/v2/roles`). Custom roles are created idempotently: when a
//! create's outcome is unknown, the account's custom roles are searched by `name` first.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{path_segment, Api, ApiResponse, Client, Error, Method};

/// A custom role of the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomRole {
    #[serde(default)]
    pub id: String,
    /// Immutable programmatic name (`^[A-Z][A-Za-z0-9]{0,29}$`); part of the CRN.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub actions: Vec<String>,
    /// Use verbatim as `role_id` in policies.
    #[serde(default)]
    pub crn: String,
    #[serde(default)]
    pub account_id: String,
    #[serde(default)]
    pub service_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by_id: Option<String>,
}

/// A system or service role (Viewer, Reader, Manager, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    #[serde(default)]
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub actions: Vec<String>,
    #[serde(default)]
    pub crn: String,
}

/// Answer of `GET /v2/roles` (not paginated).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleList {
    #[serde(default)]
    pub custom_roles: Vec<CustomRole>,
    #[serde(default)]
    pub service_roles: Vec<Role>,
    #[serde(default)]
    pub system_roles: Vec<Role>,
}

/// Body of `POST /v2/roles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCustomRole {
    pub name: String,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub actions: Vec<String>,
    /// Left empty, the client's account (config or token) is used.
    #[serde(default)]
    pub account_id: String,
    pub service_name: String,
}

/// Body of `PUT /v2/roles/{id}`; `name`, `account_id` and `service_name` cannot change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomRoleUpdate {
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub actions: Vec<String>,
}

/// The existing role a 409 `role_conflict_error` points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleConflict {
    pub role: CustomRole,
    pub etag: Option<String>,
}

/// Extracts `details.conflicts_with` from a 409 `role_conflict_error`, for adopting the role.
pub fn role_conflict(err: &Error) -> Option<RoleConflict> {
    let api = err.as_api().filter(|e| e.status == 409)?;
    let errors = api.body.get("errors").and_then(Value::as_array)?;
    let conflict = errors
        .iter()
        .find(|e| e.get("code").and_then(Value::as_str) == Some("role_conflict_error"))?
        .pointer("/details/conflicts_with")?;
    let role = CustomRole::deserialize(conflict.get("role")?).ok()?;
    let etag = conflict.get("etag").and_then(Value::as_str).map(str::to_owned);
    Some(RoleConflict { role, etag })
}

fn role_with_etag(resp: &ApiResponse) -> Result<(CustomRole, Option<String>), Error> {
    Ok((resp.json()?, resp.etag.clone()))
}

impl Client {
    /// All roles usable with `service_name` in this account (custom, service and system roles).
    pub async fn list_roles(&self, service_name: &str) -> Result<RoleList, Error> {
        let account_id = self.identity().await?.account_id;
        self.request(Api::IamPolicy, Method::GET, "/v2/roles")
            .query("account_id", &account_id)
            .query("service_name", service_name)
            .send()
            .await?
            .json()
    }

    /// Creates a custom role. If the create's outcome is unknown (5xx, timeout), the account's
    /// custom roles are searched by `name` before trying again, so no duplicate is made.
    pub async fn create_custom_role(&self, role: &NewCustomRole) -> Result<(CustomRole, Option<String>), Error> {
        let mut role = role.clone();
        if role.account_id.is_empty() {
            role.account_id = self.identity().await?.account_id;
        }
        let body = role.clone();
        let resp = self
            .create_with_lookup(
                || self.request(Api::IamPolicy, Method::POST, "/v2/roles").json(&body),
                || self.find_custom_role_response(&role.account_id, &role.service_name, &role.name),
            )
            .await?;
        role_with_etag(&resp)
    }

    /// Fetches the named custom role (with its ETag) if it exists.
    async fn find_custom_role_response(
        &self,
        account_id: &str,
        service_name: &str,
        name: &str,
    ) -> Result<Option<ApiResponse>, Error> {
        let list: RoleList = self
            .request(Api::IamPolicy, Method::GET, "/v2/roles")
            .query("account_id", account_id)
            .query("service_name", service_name)
            .send()
            .await?
            .json()?;
        let Some(found) = list.custom_roles.iter().find(|r| r.name == name && r.account_id == account_id) else {
            return Ok(None);
        };
        self.get_custom_role_response(&found.id).await
    }

    async fn get_custom_role_response(&self, id: &str) -> Result<Option<ApiResponse>, Error> {
        match self.request(Api::IamPolicy, Method::GET, format!("/v2/roles/{}", path_segment(id))).send().await {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The custom role and its ETag; `None` if it does not exist.
    pub async fn get_custom_role(&self, id: &str) -> Result<Option<(CustomRole, Option<String>)>, Error> {
        match self.get_custom_role_response(id).await? {
            Some(resp) => Ok(Some(role_with_etag(&resp)?)),
            None => Ok(None),
        }
    }

    /// Replaces display name, description and actions; `etag` comes from a recent GET.
    pub async fn replace_custom_role(
        &self,
        id: &str,
        etag: &str,
        update: &CustomRoleUpdate,
    ) -> Result<(CustomRole, Option<String>), Error> {
        let resp = self
            .request(Api::IamPolicy, Method::PUT, format!("/v2/roles/{}", path_segment(id)))
            .if_match(etag)
            .json(update)
            .send()
            .await?;
        role_with_etag(&resp)
    }

    /// Deletes a custom role; one that is already gone counts as deleted.
    pub async fn delete_custom_role(&self, id: &str) -> Result<(), Error> {
        match self.request(Api::IamPolicy, Method::DELETE, format!("/v2/roles/{}", path_segment(id))).send().await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ibmcloud::testing::{query_map, test_client, Mock, Reply};
    use serde_json::json;

    fn role_json(id: &str, name: &str) -> Value {
        json!({"id": id, "name": name, "display_name": "Qiskit user", "description": "d",
               "actions": ["quantum-computing.job.read"], "account_id": "acct-from-token",
               "service_name": "quantum-computing",
               "crn": format!("crn:v1:ibmcloud:public:iam-access-management::a/acct-from-token::customRole:{name}"),
               "href": format!("https://iam.cloud.ibm.com/v2/roles/{id}"), "created_at": "2024-01-01T00:00:00Z"})
    }

    fn new_role() -> NewCustomRole {
        NewCustomRole {
            name: "QiskitUser".into(),
            display_name: "Qiskit user".into(),
            description: Some("d".into()),
            actions: vec!["quantum-computing.job.read".into()],
            account_id: String::new(),
            service_name: "quantum-computing".into(),
        }
    }

    /// Resources run these calls inside spawned tasks, so their futures must be `Send`.
    #[test]
    fn client_futures_are_send() {
        fn assert_send<T: Send>(_: T) {}
        let client = Client::new(
            crate::ibmcloud::ClientConfig::new(
                crate::ibmcloud::ApiKey::new("k"),
                "us-east",
                crate::ibmcloud::Endpoints::uniform("http://127.0.0.1:1").unwrap(),
            ),
            tokio_util::sync::CancellationToken::new(),
        )
        .unwrap();
        let role = new_role();
        assert_send(client.list_roles("x"));
        assert_send(client.create_custom_role(&role));
        assert_send(client.get_custom_role("x"));
        assert_send(client.delete_custom_role("x"));
        assert_send(client.identity());
        assert_send(client.collect_pages(Api::Iam, "/x", &[], "items", crate::ibmcloud::PageStyle::NextHref));
    }

    #[tokio::test]
    async fn list_roles_sends_account_and_service() {
        let mock = Mock::start(|req, _| {
            let q = query_map(&req.query);
            assert_eq!(q["account_id"], "acct-from-token");
            assert_eq!(q["service_name"], "quantum-computing");
            Reply::json(200, json!({"custom_roles":[role_json("r1","QiskitUser")],
                "service_roles":[{"display_name":"Reader","actions":["a"],"crn":"crn:v1:bluemix:public:iam::::serviceRole:Reader"}],
                "system_roles":[{"display_name":"Viewer","description":"v","actions":[],"crn":"crn:v1:bluemix:public:iam::::role:Viewer"}]}))
        })
        .await;
        let roles = test_client(&mock, 0).list_roles("quantum-computing").await.unwrap();
        assert_eq!(roles.custom_roles[0].name, "QiskitUser");
        assert_eq!(roles.service_roles[0].crn, "crn:v1:bluemix:public:iam::::serviceRole:Reader");
        assert_eq!(roles.system_roles[0].display_name, "Viewer");
    }

    #[tokio::test]
    async fn create_fills_account_and_returns_etag() {
        let mock = Mock::start(|req, _| {
            let body: Value = serde_json::from_str(&req.body).unwrap();
            assert_eq!(body["account_id"], "acct-from-token");
            assert_eq!(body["name"], "QiskitUser");
            Reply::json(201, role_json("r1", "QiskitUser")).header("ETag", "1-aa")
        })
        .await;
        let (role, etag) = test_client(&mock, 0).create_custom_role(&new_role()).await.unwrap();
        assert_eq!(role.id, "r1");
        assert_eq!(etag.as_deref(), Some("1-aa"));
    }

    #[tokio::test]
    async fn create_with_unknown_outcome_adopts_the_role_found_by_name() {
        let mock = Mock::start(|req, _| match (req.method.as_str(), req.path.as_str()) {
            ("POST", "/v2/roles") => Reply::json(500, json!({"errors":[{"code":"internal","message":"oops"}]})),
            ("GET", "/v2/roles") => {
                Reply::json(200, json!({"custom_roles":[role_json("r0","Other"), role_json("r9","QiskitUser")]}))
            }
            ("GET", "/v2/roles/r9") => Reply::json(200, role_json("r9", "QiskitUser")).header("ETag", "3-bb"),
            _ => Reply::json(404, json!({})),
        })
        .await;
        let (role, etag) = test_client(&mock, 3).create_custom_role(&new_role()).await.unwrap();
        assert_eq!((role.id.as_str(), etag.as_deref()), ("r9", Some("3-bb")));
        assert_eq!(mock.count("POST", "/v2/roles"), 1);
    }

    #[tokio::test]
    async fn get_replace_delete() {
        let mock = Mock::start(|req, _| match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/v2/roles/r1") => Reply::json(200, role_json("r1", "QiskitUser")).header("ETag", "1-aa"),
            ("GET", _) => Reply::json(404, json!({"errors":[{"code":"role_not_found","message":"gone"}]})),
            ("PUT", "/v2/roles/r1") => {
                assert_eq!(req.headers.get("if-match").unwrap(), "1-aa");
                let body: Value = serde_json::from_str(&req.body).unwrap();
                assert_eq!(body, json!({"display_name":"New","actions":["x"]}));
                Reply::json(200, role_json("r1", "QiskitUser")).header("ETag", "2-aa")
            }
            ("DELETE", "/v2/roles/r1") => Reply::text(204, ""),
            ("DELETE", _) => Reply::json(404, json!({})),
            _ => Reply::json(400, json!({})),
        })
        .await;
        let client = test_client(&mock, 0);
        let (role, etag) = client.get_custom_role("r1").await.unwrap().unwrap();
        assert_eq!(role.crn, "crn:v1:ibmcloud:public:iam-access-management::a/acct-from-token::customRole:QiskitUser");
        assert_eq!(etag.as_deref(), Some("1-aa"));
        assert!(client.get_custom_role("nope").await.unwrap().is_none());
        let update = CustomRoleUpdate { display_name: "New".into(), description: None, actions: vec!["x".into()] };
        let (_, etag) = client.replace_custom_role("r1", "1-aa", &update).await.unwrap();
        assert_eq!(etag.as_deref(), Some("2-aa"));
        client.delete_custom_role("r1").await.unwrap();
        client.delete_custom_role("gone").await.unwrap();
    }

    #[tokio::test]
    async fn conflict_details_are_extracted() {
        let mock = Mock::start(|_, _| {
            Reply::json(
                409,
                json!({"errors":[{"code":"role_conflict_error","message":"This role name has already been used, please update the existing one or change the role name.",
                    "details":{"conflicts_with":{"etag":"9-da50","role": role_json("r7","QiskitUser")}}}],
                    "status_code":409,"trace":"abc"}),
            )
        })
        .await;
        let err = test_client(&mock, 3).create_custom_role(&new_role()).await.unwrap_err();
        assert!(err.to_string().starts_with("409 role_conflict_error: This role name"), "{err}");
        let c = role_conflict(&err).unwrap();
        assert_eq!((c.role.id.as_str(), c.etag.as_deref()), ("r7", Some("9-da50")));
        assert!(role_conflict(&Error::Timeout).is_none());
        assert_eq!(mock.count("POST", "/v2/roles"), 1);
    }
}
