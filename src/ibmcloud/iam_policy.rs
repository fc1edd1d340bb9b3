//! IAM Policy Management: roles (`/v2/roles`) and access policies (`/v1/policies`). Custom roles
//! and policies are created idempotently: when a create's outcome is unknown, the account's custom
//! roles are searched by `name` (policies: by subject and resource) first.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use std::collections::BTreeSet;

use super::{path_segment, Api, ApiResponse, Client, Error, Method, PageStyle, Uniqueness};

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
    conflicting(err, "role_conflict_error", "role").map(|(role, etag)| RoleConflict { role, etag })
}

/// The existing object (under `key`) and its ETag that a 409 error with `code` points at in
/// `details.conflicts_with`: roles and policies report conflicts the same way.
fn conflicting<T: serde::de::DeserializeOwned>(err: &Error, code: &str, key: &str) -> Option<(T, Option<String>)> {
    let api = err.as_api().filter(|e| e.status == 409)?;
    let errors = api.body.get("errors").and_then(Value::as_array)?;
    let conflict = errors.iter().find(|e| e.get("code").and_then(Value::as_str) == Some(code))?.pointer("/details/conflicts_with")?;
    let existing = T::deserialize(conflict.get(key)?).ok()?;
    let etag = conflict.get("etag").and_then(Value::as_str).map(str::to_owned);
    Some((existing, etag))
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
                // A second role of the same name is a 409 `role_conflict_error`.
                Uniqueness::Enforced,
                |found| {
                    let actions: BTreeSet<&str> = found["actions"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                    found["display_name"].as_str() == Some(role.display_name.as_str())
                        && found["description"].as_str().unwrap_or_default() == role.description.as_deref().unwrap_or_default()
                        && actions == role.actions.iter().map(String::as_str).collect()
                },
            )
            .await?;
        role_with_etag(&resp)
    }

    /// Fetches the named custom role (with its ETag) if it exists.
    async fn find_custom_role_response(&self, account_id: &str, service_name: &str, name: &str) -> Result<Option<ApiResponse>, Error> {
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
        let resp =
            self.request(Api::IamPolicy, Method::PUT, format!("/v2/roles/{}", path_segment(id))).if_match(etag).json(update).send().await?;
        role_with_etag(&resp)
    }

    /// Deletes a custom role; one that is already gone counts as deleted.
    pub async fn delete_custom_role(&self, id: &str) -> Result<(), Error> {
        self.request(Api::IamPolicy, Method::DELETE, format!("/v2/roles/{}", path_segment(id))).send_absent_ok().await
    }
}

// Policies

/// A `{name, value, operator?}` attribute of a policy subject or resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyAttribute {
    pub name: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
}

impl PolicyAttribute {
    pub fn new(name: &str, value: &str) -> Self {
        PolicyAttribute { name: name.to_string(), value: value.to_string(), operator: None }
    }
}

/// Who a policy applies to (`access_group_id` or `iam_id`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySubject {
    #[serde(default)]
    pub attributes: Vec<PolicyAttribute>,
}

/// What a policy applies to (`accountId`, `serviceName`, `serviceInstance`, `resourceGroupId`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyResource {
    #[serde(default)]
    pub attributes: Vec<PolicyAttribute>,
}

/// Looks up an attribute's value by name.
pub fn attribute<'a>(attributes: &'a [PolicyAttribute], name: &str) -> Option<&'a str> {
    attributes.iter().find(|a| a.name == name).map(|a| a.value.as_str())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRole {
    /// The role's CRN.
    pub role_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl PolicyRole {
    pub fn new(crn: &str) -> Self {
        PolicyRole { role_id: crn.to_string(), display_name: None, description: None }
    }
}

/// A v1 access policy as IBM returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Policy {
    #[serde(default)]
    pub id: String,
    #[serde(default, rename = "type")]
    pub policy_type: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub subjects: Vec<PolicySubject>,
    #[serde(default)]
    pub roles: Vec<PolicyRole>,
    #[serde(default)]
    pub resources: Vec<PolicyResource>,
    #[serde(default)]
    pub href: Option<String>,
    /// `active` or `deleted`.
    #[serde(default)]
    pub state: Option<String>,
}

impl Policy {
    /// The first subject's `access_group_id`, if it is an access group policy.
    pub fn access_group_id(&self) -> Option<&str> {
        self.subjects.first().and_then(|s| attribute(&s.attributes, "access_group_id"))
    }
    /// The first resource's attribute `name`.
    pub fn resource_attribute(&self, name: &str) -> Option<&str> {
        self.resources.first().and_then(|r| attribute(&r.attributes, name))
    }
}

/// Body of `POST /v1/policies` and `PUT /v1/policies/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyBody {
    #[serde(rename = "type")]
    pub policy_type: String,
    pub subjects: Vec<PolicySubject>,
    pub roles: Vec<PolicyRole>,
    pub resources: Vec<PolicyResource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl PolicyBody {
    /// An access policy for an access group.
    pub fn for_access_group(access_group_id: &str, role_crns: &[String], resource: Vec<PolicyAttribute>) -> Self {
        PolicyBody {
            policy_type: "access".into(),
            subjects: vec![PolicySubject { attributes: vec![PolicyAttribute::new("access_group_id", access_group_id)] }],
            roles: role_crns.iter().map(|c| PolicyRole::new(c)).collect(),
            resources: vec![PolicyResource { attributes: resource }],
            description: None,
        }
    }
}

/// The existing policy a 409 `policy_conflict_error` points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyConflict {
    pub policy: Policy,
    pub etag: Option<String>,
}

/// Extracts `details.conflicts_with` from a 409 `policy_conflict_error`.
pub fn policy_conflict(err: &Error) -> Option<PolicyConflict> {
    conflicting(err, "policy_conflict_error", "policy").map(|(policy, etag)| PolicyConflict { policy, etag })
}

/// Same attributes regardless of order (operators ignored when absent on one side).
fn same_attributes(a: &[PolicyAttribute], b: &[PolicyAttribute]) -> bool {
    let key = |x: &PolicyAttribute| (x.name.clone(), x.value.clone());
    let mut a: Vec<_> = a.iter().map(key).collect();
    let mut b: Vec<_> = b.iter().map(key).collect();
    a.sort();
    b.sort();
    a == b
}

fn policy_with_etag(resp: &ApiResponse) -> Result<(Policy, Option<String>), Error> {
    Ok((resp.json()?, resp.etag.clone()))
}

impl Client {
    /// The account's access policies of one access group (all pages).
    pub async fn list_access_group_policies(&self, access_group_id: &str) -> Result<Vec<Policy>, Error> {
        let account_id = self.identity().await?.account_id;
        let items = self
            .collect_pages(
                Api::IamPolicy,
                "/v1/policies",
                &[("account_id", account_id.as_str()), ("access_group_id", access_group_id), ("type", "access")],
                "policies",
                PageStyle::NextStart,
            )
            .await?;
        items.into_iter().map(|v| Policy::deserialize(v).map_err(|e| Error::Decode(format!("policy in list: {e}")))).collect()
    }

    /// Every access policy of the account, whatever its subject (all pages).
    pub async fn list_account_access_policies(&self) -> Result<Vec<Policy>, Error> {
        let account_id = self.identity().await?.account_id;
        let items = self
            .collect_pages(
                Api::IamPolicy,
                "/v1/policies",
                &[("account_id", account_id.as_str()), ("type", "access")],
                "policies",
                PageStyle::NextStart,
            )
            .await?;
        items.into_iter().map(|v| Policy::deserialize(v).map_err(|e| Error::Decode(format!("policy in list: {e}")))).collect()
    }

    /// Creates a policy. If the outcome is unknown, the subject's policies are searched for one
    /// with the same resource before trying again. A 409 `policy_conflict_error` is returned as
    /// is (see [`policy_conflict`]).
    pub async fn create_policy(&self, body: &PolicyBody) -> Result<(Policy, Option<String>), Error> {
        let resp = self
            .create_with_lookup(
                || self.request(Api::IamPolicy, Method::POST, "/v1/policies").json(body),
                || self.find_policy_response(body),
                // A subject has one policy per resource: a second is a 409 `policy_conflict_error`.
                Uniqueness::Enforced,
                |found| {
                    let roles: BTreeSet<&str> =
                        found["roles"].as_array().into_iter().flatten().filter_map(|r| r["role_id"].as_str()).collect();
                    roles == body.roles.iter().map(|r| r.role_id.as_str()).collect()
                },
            )
            .await?;
        policy_with_etag(&resp)
    }

    async fn find_policy_response(&self, body: &PolicyBody) -> Result<Option<ApiResponse>, Error> {
        let Some(group) = body.subjects.first().and_then(|s| attribute(&s.attributes, "access_group_id")) else {
            return Ok(None);
        };
        let wanted = body.resources.first().map(|r| r.attributes.as_slice()).unwrap_or_default();
        let found = self
            .list_access_group_policies(group)
            .await?
            .into_iter()
            .find(|p| p.resources.first().is_some_and(|r| same_attributes(&r.attributes, wanted)));
        match found {
            Some(p) => self.get_policy_response(&p.id).await,
            None => Ok(None),
        }
    }

    async fn get_policy_response(&self, id: &str) -> Result<Option<ApiResponse>, Error> {
        match self.request(Api::IamPolicy, Method::GET, format!("/v1/policies/{}", path_segment(id))).send().await {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The policy and its ETag; `None` if it does not exist.
    pub async fn get_policy(&self, id: &str) -> Result<Option<(Policy, Option<String>)>, Error> {
        match self.get_policy_response(id).await? {
            Some(resp) => Ok(Some(policy_with_etag(&resp)?)),
            None => Ok(None),
        }
    }

    /// Replaces a policy (its type cannot change); `etag` comes from a recent GET. A stale ETag
    /// is answered with 412 or 409 (UNCERTAIN).
    pub async fn replace_policy(&self, id: &str, etag: &str, body: &PolicyBody) -> Result<(Policy, Option<String>), Error> {
        let resp = self
            .request(Api::IamPolicy, Method::PUT, format!("/v1/policies/{}", path_segment(id)))
            .if_match(etag)
            .json(body)
            .send()
            .await?;
        policy_with_etag(&resp)
    }

    /// Deletes a policy; one that is already gone counts as deleted.
    pub async fn delete_policy(&self, id: &str) -> Result<(), Error> {
        self.request(Api::IamPolicy, Method::DELETE, format!("/v1/policies/{}", path_segment(id))).send_absent_ok().await
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
               "href": format!("https://iam.cloud.ibm.com/v2/roles/{id}"), "created_at": now()})
    }

    /// The time now, as IBM writes it: a role made by the create under test is stamped so.
    fn now() -> String {
        time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).expect("now")
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
        assert_send(client.collect_pages(Api::Iam, "/x", &[], "items", PageStyle::NextHref));
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
            ("GET", "/v2/roles") => Reply::json(200, json!({"custom_roles":[role_json("r0","Other"), role_json("r9","QiskitUser")]})),
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

    fn policy_json(id: &str) -> Value {
        json!({"id": id, "type": "access",
               "subjects": [{"attributes": [{"name": "access_group_id", "value": "AccessGroupId-1"}]}],
               "roles": [{"role_id": "crn:v1:bluemix:public:iam::::role:Viewer", "display_name": "Viewer"}],
               "resources": [{"attributes": [{"name": "accountId", "value": "acct-from-token"},
                                             {"name": "serviceName", "value": "quantum-computing"}]}],
               "href": format!("https://iam.cloud.ibm.com/v1/policies/{id}"), "state": "active"})
    }

    fn policy_body() -> PolicyBody {
        PolicyBody::for_access_group(
            "AccessGroupId-1",
            &["crn:v1:bluemix:public:iam::::role:Viewer".to_string()],
            vec![PolicyAttribute::new("serviceName", "quantum-computing"), PolicyAttribute::new("accountId", "acct-from-token")],
        )
    }

    #[tokio::test]
    async fn policy_list_follows_start_tokens() {
        let mock = Mock::start(|req, _| {
            let q = query_map(&req.query);
            assert_eq!(q["account_id"], "acct-from-token");
            assert_eq!(q["access_group_id"], "AccessGroupId-1");
            match q.get("start").map(String::as_str) {
                None => Reply::json(200, json!({"limit": 1, "policies": [policy_json("p1")], "next": {"start": "tok2"}})),
                Some("tok2") => Reply::json(200, json!({"limit": 1, "policies": [policy_json("p2")]})),
                Some(other) => panic!("unexpected start {other}"),
            }
        })
        .await;
        let list = test_client(&mock, 0).list_access_group_policies("AccessGroupId-1").await.unwrap();
        assert_eq!(list.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["p1", "p2"]);
        assert_eq!(list[0].access_group_id(), Some("AccessGroupId-1"));
        assert_eq!(list[0].resource_attribute("serviceName"), Some("quantum-computing"));
    }

    #[tokio::test]
    async fn account_policy_list_asks_for_access_policies_of_any_subject() {
        let mock = Mock::start(|req, _| {
            let q = query_map(&req.query);
            assert_eq!((q["account_id"].as_str(), q["type"].as_str()), ("acct-from-token", "access"));
            assert!(!q.contains_key("access_group_id") && !q.contains_key("iam_id"), "{}", req.query);
            match q.get("start").map(String::as_str) {
                None => Reply::json(
                    200,
                    json!({"policies": [policy_json("p1")], "next": {"href": "https://iam.cloud.ibm.com/v1/policies?start=t2"}}),
                ),
                Some("t2") => Reply::json(200, json!({"policies": [policy_json("p2")]})),
                Some(other) => panic!("unexpected start {other}"),
            }
        })
        .await;
        let list = test_client(&mock, 0).list_account_access_policies().await.unwrap();
        assert_eq!(list.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["p1", "p2"]);
    }

    #[tokio::test]
    async fn policy_create_with_unknown_outcome_adopts_the_same_resource() {
        let mock = Mock::start(|req, _| match (req.method.as_str(), req.path.as_str()) {
            ("POST", "/v1/policies") => Reply::json(500, json!({"errors":[{"code":"internal","message":"oops"}]})),
            ("GET", "/v1/policies") => Reply::json(200, json!({"policies": [policy_json("p7")]})),
            ("GET", "/v1/policies/p7") => Reply::json(200, policy_json("p7")).header("ETag", "\"1-aa\""),
            _ => Reply::json(404, json!({})),
        })
        .await;
        let (policy, etag) = test_client(&mock, 3).create_policy(&policy_body()).await.unwrap();
        assert_eq!((policy.id.as_str(), etag.as_deref()), ("p7", Some("\"1-aa\"")));
        assert_eq!(mock.count("POST", "/v1/policies"), 1);
    }

    #[tokio::test]
    async fn policy_conflict_replace_and_delete() {
        let mock = Mock::start(|req, _| match (req.method.as_str(), req.path.as_str()) {
            ("POST", _) => Reply::json(
                409,
                json!({"errors":[{"code":"policy_conflict_error","message":"Failed to create policy.",
                "details":{"conflicts_with":{"etag":"2-bb","policy": policy_json("p3")}}}],"status_code":409}),
            ),
            ("PUT", "/v1/policies/p3") => {
                assert_eq!(req.headers.get("if-match").unwrap(), "2-bb");
                let body: Value = serde_json::from_str(&req.body).unwrap();
                assert_eq!(body["type"], "access");
                assert_eq!(body["roles"][0]["role_id"], "crn:v1:bluemix:public:iam::::role:Viewer");
                Reply::json(200, policy_json("p3")).header("ETag", "3-cc")
            }
            ("DELETE", "/v1/policies/p3") => Reply::text(204, ""),
            _ => Reply::json(404, json!({"errors":[{"code":"policy_not_found","message":"gone"}]})),
        })
        .await;
        let client = test_client(&mock, 0);
        let err = client.create_policy(&policy_body()).await.unwrap_err();
        let conflict = policy_conflict(&err).unwrap();
        assert_eq!((conflict.policy.id.as_str(), conflict.etag.as_deref()), ("p3", Some("2-bb")));
        let (_, etag) = client.replace_policy("p3", "2-bb", &policy_body()).await.unwrap();
        assert_eq!(etag.as_deref(), Some("3-cc"));
        assert!(client.get_policy("nope").await.unwrap().is_none());
        client.delete_policy("p3").await.unwrap();
        client.delete_policy("gone").await.unwrap();
    }
}
