//! IAM Access Groups v2: groups, static members and dynamic rules (`/v2/groups`).
//!
//! Groups are created idempotently: when a create's outcome is unknown, the account's groups are
//! searched by name first. Member additions go in batches of at most 50 and every member's own
//! `status_code` in the 207 answer is checked.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::{path_segment, Api, ApiResponse, Client, Error, Method, PageStyle, Uniqueness};

/// One group's static members' IAM IDs, filled by the first caller that lists them.
type MemberCell = Arc<OnceCell<Arc<BTreeSet<String>>>>;

/// Per group: its static members' IAM IDs, once listed (see [`Client::static_member_ids`]).
#[derive(Default)]
pub(crate) struct MemberSets {
    by_group: Mutex<HashMap<String, MemberCell>>,
}

impl MemberSets {
    fn cell(&self, group_id: &str) -> MemberCell {
        self.lock().entry(group_id.to_owned()).or_default().clone()
    }

    fn forget(&self, group_id: &str) {
        self.lock().remove(group_id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, MemberCell>> {
        // A map of cells stays valid whatever a panicking holder did.
        self.by_group.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// IBM's fixed id of every account's built-in Public Access group, which no one manages.
pub const PUBLIC_ACCESS_GROUP_ID: &str = "AccessGroupId-PublicAccess";

/// IBM accepts at most this many members per add or bulk-remove call.
pub const MEMBER_BATCH: usize = 50;

/// An access group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessGroup {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub account_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
}

/// A member of a group as listed by `GET /v2/groups/{id}/members`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMember {
    #[serde(default)]
    pub iam_id: String,
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership_type: Option<String>,
}

/// The kind of principal an IAM ID names, read from its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    User,
    Service,
    Profile,
}

impl MemberKind {
    /// `IBMid-…` (users), `iam-ServiceId-…`, `iam-Profile-…`; anything else is not a member id.
    pub fn of(iam_id: &str) -> Option<MemberKind> {
        if iam_id.starts_with("IBMid-") && iam_id.len() > "IBMid-".len() {
            Some(MemberKind::User)
        } else if iam_id.starts_with("iam-ServiceId-") && iam_id.len() > "iam-ServiceId-".len() {
            Some(MemberKind::Service)
        } else if iam_id.starts_with("iam-Profile-") && iam_id.len() > "iam-Profile-".len() {
            Some(MemberKind::Profile)
        } else {
            None
        }
    }

    /// The `type` the members API uses.
    pub fn api_name(self) -> &'static str {
        match self {
            MemberKind::User => "user",
            MemberKind::Service => "service",
            MemberKind::Profile => "profile",
        }
    }
}

/// One condition of a dynamic rule, as the API carries it (`value` is IBM's encoding).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleCondition {
    #[serde(default)]
    pub claim: String,
    #[serde(default)]
    pub operator: String,
    #[serde(default)]
    pub value: String,
}

/// A dynamic rule of an access group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub expiration: i64,
    #[serde(default)]
    pub realm_name: String,
    #[serde(default)]
    pub access_group_id: String,
    #[serde(default)]
    pub conditions: Vec<RuleCondition>,
}

/// Body of `POST /v2/groups/{id}/rules` and `PUT …/rules/{rule_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleBody {
    pub name: String,
    pub expiration: i64,
    pub realm_name: String,
    pub conditions: Vec<RuleCondition>,
}

/// A member the API refused in a 207 answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberFailure {
    pub iam_id: String,
    pub status: u16,
    pub message: String,
}

fn with_etag<T: serde::de::DeserializeOwned>(resp: &ApiResponse) -> Result<(T, Option<String>), Error> {
    Ok((resp.json()?, resp.etag.clone()))
}

/// Failures among the per-member results of a 207 answer (`members[].status_code`).
pub(crate) fn member_failures(body: &Value, ok_statuses: &[u16]) -> Vec<MemberFailure> {
    let Some(members) = body.get("members").and_then(Value::as_array) else { return Vec::new() };
    members
        .iter()
        .filter_map(|m| {
            // An out-of-range status is a failure, not a wrapped-around success.
            let status = m.get("status_code").and_then(Value::as_u64).map_or(200, |s| u16::try_from(s).unwrap_or(0));
            if (200..300).contains(&status) || ok_statuses.contains(&status) {
                return None;
            }
            let message = m
                .pointer("/errors/0/message")
                .and_then(Value::as_str)
                .or_else(|| m.pointer("/errors/0/code").and_then(Value::as_str))
                .unwrap_or("no reason given")
                .to_string();
            Some(MemberFailure { iam_id: m.get("iam_id").and_then(Value::as_str).unwrap_or_default().to_string(), status, message })
        })
        .collect()
}

/// Drops the Public Access group even when the server ignored `hide_public_access`, and groups
/// whose name does not start with `name_prefix`.
fn keep_listable(groups: Vec<AccessGroup>, name_prefix: Option<&str>) -> Vec<AccessGroup> {
    groups.into_iter().filter(|g| g.id != PUBLIC_ACCESS_GROUP_ID).filter(|g| name_prefix.is_none_or(|p| g.name.starts_with(p))).collect()
}

fn failures_error(doing: &str, failures: &[MemberFailure]) -> Error {
    let list: Vec<String> = failures.iter().map(|f| format!("{} ({} {})", f.iam_id, f.status, f.message)).collect();
    Error::Decode(format!("{doing}: IBM refused {}", list.join("; ")))
}

impl Client {
    // ----- groups -----

    /// Creates a group. If the outcome is unknown, the group is looked up by name before retrying.
    pub async fn create_access_group(&self, name: &str, description: Option<&str>) -> Result<(AccessGroup, Option<String>), Error> {
        let account_id = self.identity().await?.account_id;
        let mut body = json!({ "name": name });
        if let Some(d) = description {
            body["description"] = json!(d);
        }
        let resp = self
            .create_with_lookup(
                || self.request(Api::Iam, Method::POST, "/v2/groups").query("account_id", &account_id).json(&body),
                || async {
                    match self.find_access_group_by_name(name).await? {
                        Some(g) => self.get_access_group_response(&g.id).await,
                        None => Ok(None),
                    }
                },
                // Names are unique in the account, ignoring case.
                Uniqueness::Enforced,
                |found| {
                    let text = |field: &str| found[field].as_str().unwrap_or_default().to_string();
                    text("name").eq_ignore_ascii_case(name) && text("description") == description.unwrap_or_default()
                },
            )
            .await?;
        with_etag(&resp)
    }

    /// The account's group with this name (names are unique ignoring case), if any.
    pub async fn find_access_group_by_name(&self, name: &str) -> Result<Option<AccessGroup>, Error> {
        let account_id = self.identity().await?.account_id;
        let search = format!("name:{name}");
        let items = self
            .collect_pages(
                Api::Iam,
                "/v2/groups",
                &[("account_id", &account_id), ("search", &search), ("limit", "100")],
                "groups",
                PageStyle::NextHref,
            )
            .await?;
        // `search` may match substrings: only an exact (case-insensitive) name counts.
        for item in items {
            let group: AccessGroup = serde_json::from_value(item).map_err(|e| Error::Decode(format!("access group: {e}")))?;
            if group.name.to_lowercase() == name.to_lowercase() {
                return Ok(Some(group));
            }
        }
        Ok(None)
    }

    /// Every group of the account but the built-in Public Access group (all pages). With
    /// `name_prefix`, only groups whose name starts with it (case-sensitive).
    pub async fn list_access_groups(&self, name_prefix: Option<&str>) -> Result<Vec<AccessGroup>, Error> {
        let account_id = self.identity().await?.account_id;
        let mut query = vec![("account_id", account_id.clone()), ("hide_public_access", "true".to_owned()), ("limit", "100".to_owned())];
        if let Some(prefix) = name_prefix.filter(|p| !p.is_empty()) {
            // Narrows server-side only: IBM's search matches substrings, ignoring case.
            query.push(("search", format!("name:{prefix}")));
        }
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let items = self.collect_pages(Api::Iam, "/v2/groups", &query, "groups", PageStyle::NextHref).await?;
        let mut groups = Vec::with_capacity(items.len());
        for item in items {
            let group: AccessGroup = serde_json::from_value(item).map_err(|e| Error::Decode(format!("access group: {e}")))?;
            groups.push(group);
        }
        Ok(keep_listable(groups, name_prefix))
    }

    /// The groups an IAM ID is a static member of.
    pub async fn access_groups_of_member(&self, iam_id: &str) -> Result<Vec<AccessGroup>, Error> {
        let account_id = self.identity().await?.account_id;
        let items = self
            .collect_pages(
                Api::Iam,
                "/v2/groups",
                &[("account_id", &account_id), ("iam_id", iam_id), ("membership_type", "static"), ("limit", "100")],
                "groups",
                PageStyle::NextHref,
            )
            .await?;
        items.into_iter().map(|i| serde_json::from_value(i).map_err(|e| Error::Decode(format!("access group: {e}")))).collect()
    }

    async fn get_access_group_response(&self, id: &str) -> Result<Option<ApiResponse>, Error> {
        match self.request(Api::Iam, Method::GET, format!("/v2/groups/{}", path_segment(id))).query("show_crn", "true").send().await {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The group and its ETag; `None` if it does not exist.
    pub async fn get_access_group(&self, id: &str) -> Result<Option<(AccessGroup, Option<String>)>, Error> {
        match self.get_access_group_response(id).await? {
            Some(r) => Ok(Some(with_etag(&r)?)),
            None => Ok(None),
        }
    }

    /// Changes name and description (`If-Match` from a recent GET). An empty description clears it.
    pub async fn update_access_group(&self, id: &str, etag: &str, name: &str, description: &str) -> Result<AccessGroup, Error> {
        self.request(Api::Iam, Method::PATCH, format!("/v2/groups/{}", path_segment(id)))
            .if_match(etag)
            .json(&json!({"name": name, "description": description}))
            .send()
            .await?
            .json()
    }

    /// Deletes a group with its members and rules (`force=true`); already gone counts as deleted.
    pub async fn delete_access_group(&self, id: &str) -> Result<(), Error> {
        self.inner.member_sets.forget(id);
        self.request(Api::Iam, Method::DELETE, format!("/v2/groups/{}", path_segment(id))).query("force", "true").send_absent_ok().await
    }

    // ----- members -----

    /// The IAM IDs of the group's static members, listed at most once per client (so once per
    /// provider process) and shared by every caller: one listing serves all the invitations into
    /// the group. This client's own membership changes drop the group's entry; a group that does
    /// not exist has no members.
    pub async fn static_member_ids(&self, group_id: &str) -> Result<Arc<BTreeSet<String>>, Error> {
        let cell = self.inner.member_sets.cell(group_id);
        let set = cell
            .get_or_try_init(|| async {
                let members = match self.list_static_members(group_id).await {
                    Ok(members) => members,
                    Err(e) if e.is_not_found() => Vec::new(),
                    Err(e) => return Err(e),
                };
                Ok::<_, Error>(Arc::new(members.into_iter().map(|m| m.iam_id).collect::<BTreeSet<String>>()))
            })
            .await?;
        Ok(set.clone())
    }

    /// Forgets what [`Client::static_member_ids`] knows of these groups (after a change to them).
    pub(crate) fn forget_members_of<'a>(&self, group_ids: impl IntoIterator<Item = &'a String>) {
        for id in group_ids {
            self.inner.member_sets.forget(id);
        }
    }

    /// The group's static members (all pages).
    pub async fn list_static_members(&self, group_id: &str) -> Result<Vec<GroupMember>, Error> {
        let path = format!("/v2/groups/{}/members", path_segment(group_id));
        let items =
            self.collect_pages(Api::Iam, &path, &[("membership_type", "static"), ("limit", "100")], "members", PageStyle::NextHref).await?;
        items
            .into_iter()
            .map(|i| serde_json::from_value::<GroupMember>(i).map_err(|e| Error::Decode(format!("group member: {e}"))))
            // An old API version without membership_type filtering: keep static ones only.
            .filter(|m| !matches!(m, Ok(m) if m.membership_type.as_deref() == Some("dynamic")))
            .collect()
    }

    /// Adds members in batches of 50; every member's status in the 207 answer is checked.
    pub async fn add_members(&self, group_id: &str, iam_ids: &[String]) -> Result<(), Error> {
        self.inner.member_sets.forget(group_id);
        let path = format!("/v2/groups/{}/members", path_segment(group_id));
        let mut failures = Vec::new();
        for batch in iam_ids.chunks(MEMBER_BATCH) {
            let mut members = Vec::with_capacity(batch.len());
            for iam_id in batch {
                let kind = MemberKind::of(iam_id)
                    .ok_or_else(|| Error::Config(format!("{iam_id:?} is not a user, service ID or trusted profile IAM ID")))?;
                members.push(json!({"iam_id": iam_id, "type": kind.api_name()}));
            }
            let resp = self.request(Api::Iam, Method::PUT, &path).json(&json!({ "members": members })).send().await?;
            failures.extend(member_failures(&resp.body, &[]));
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures_error(&format!("adding members to access group {group_id}"), &failures))
        }
    }

    /// Removes one member; one that is not a member (or a group that is gone) counts as removed.
    pub async fn remove_member(&self, group_id: &str, iam_id: &str) -> Result<(), Error> {
        self.inner.member_sets.forget(group_id);
        let path = format!("/v2/groups/{}/members/{}", path_segment(group_id), path_segment(iam_id));
        self.request(Api::Iam, Method::DELETE, path).send_absent_ok().await
    }

    /// Removes members in batches of 50 (`POST …/members/delete`, always 207); 404s count as removed.
    pub async fn remove_members(&self, group_id: &str, iam_ids: &[String]) -> Result<(), Error> {
        self.inner.member_sets.forget(group_id);
        let path = format!("/v2/groups/{}/members/delete", path_segment(group_id));
        let mut failures = Vec::new();
        for batch in iam_ids.chunks(MEMBER_BATCH) {
            let resp = match self.request(Api::Iam, Method::POST, &path).json(&json!({ "members": batch })).send().await {
                Ok(r) => r,
                Err(e) if e.is_not_found() => return Ok(()),
                Err(e) => return Err(e),
            };
            failures.extend(member_failures(&resp.body, &[404]));
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures_error(&format!("removing members from access group {group_id}"), &failures))
        }
    }

    // ----- rules -----

    pub async fn create_rule(&self, group_id: &str, body: &RuleBody) -> Result<(Rule, Option<String>), Error> {
        let path = format!("/v2/groups/{}/rules", path_segment(group_id));
        let resp = self
            .create_with_lookup(
                || self.request(Api::Iam, Method::POST, &path).json(body),
                || async {
                    // A rule of the same name, realm and conditions made by the lost request.
                    for rule in self.list_rules(group_id).await? {
                        if rule.name == body.name && rule.realm_name == body.realm_name && rule.expiration == body.expiration {
                            return self.get_rule_response(group_id, &rule.id).await;
                        }
                    }
                    Ok(None)
                },
                // IBM documents no rule of a group as unique (UNCERTAIN): the look waits out the lag.
                Uniqueness::NotEnforced,
                // The look matches name, realm and expiration; IBM may store condition values in
                // another JSON form than sent (UNCERTAIN), so they are not compared.
                |_| true,
            )
            .await?;
        with_etag(&resp)
    }

    pub async fn list_rules(&self, group_id: &str) -> Result<Vec<Rule>, Error> {
        let resp = self.request(Api::Iam, Method::GET, format!("/v2/groups/{}/rules", path_segment(group_id))).send().await?;
        let rules = resp.body.get("rules").cloned().unwrap_or(Value::Array(Vec::new()));
        serde_json::from_value(rules).map_err(|e| Error::Decode(format!("rules: {e}")))
    }

    async fn get_rule_response(&self, group_id: &str, rule_id: &str) -> Result<Option<ApiResponse>, Error> {
        let path = format!("/v2/groups/{}/rules/{}", path_segment(group_id), path_segment(rule_id));
        match self.request(Api::Iam, Method::GET, path).send().await {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The rule and its ETag; `None` if it (or its group) does not exist.
    pub async fn get_rule(&self, group_id: &str, rule_id: &str) -> Result<Option<(Rule, Option<String>)>, Error> {
        match self.get_rule_response(group_id, rule_id).await? {
            Some(r) => Ok(Some(with_etag(&r)?)),
            None => Ok(None),
        }
    }

    pub async fn replace_rule(&self, group_id: &str, rule_id: &str, etag: &str, body: &RuleBody) -> Result<Rule, Error> {
        let path = format!("/v2/groups/{}/rules/{}", path_segment(group_id), path_segment(rule_id));
        self.request(Api::Iam, Method::PUT, path).if_match(etag).json(body).send().await?.json()
    }

    /// Deletes a rule; already gone counts as deleted.
    pub async fn delete_rule(&self, group_id: &str, rule_id: &str) -> Result<(), Error> {
        let path = format!("/v2/groups/{}/rules/{}", path_segment(group_id), path_segment(rule_id));
        self.request(Api::Iam, Method::DELETE, path).send_absent_ok().await
    }
}

#[cfg(test)]
mod tests {
    use crate::ibmcloud::testing::{query_map, test_client, Mock, Reply};

    #[test]
    fn an_out_of_range_member_status_is_a_failure_not_a_wrapped_success() {
        // 65736 would wrap to 200 as a u16.
        let body = serde_json::json!({"members": [{"iam_id": "IBMid-1", "status_code": 65736}, {"iam_id": "IBMid-2", "status_code": 200}]});
        let failures = member_failures(&body, &[]);
        assert_eq!(failures.iter().map(|f| f.iam_id.as_str()).collect::<Vec<_>>(), vec!["IBMid-1"]);
    }

    use super::*;

    fn group_json(id: &str, name: &str) -> Value {
        json!({"id": id, "name": name, "account_id": "acct-from-token", "description": "d"})
    }

    #[tokio::test]
    async fn listing_hides_public_access_and_keeps_the_prefix() {
        let mock = Mock::start(|req, _| {
            let q = query_map(&req.query);
            assert_eq!((q["account_id"].as_str(), q["hide_public_access"].as_str()), ("acct-from-token", "true"));
            assert_eq!(q.get("search").map(String::as_str), Some("name:ml-"));
            // A server that ignores hide_public_access, and whose search ignores case and position.
            match q.get("offset").map(String::as_str) {
                None => Reply::json(
                    200,
                    json!({"limit": 2, "offset": 0, "total_count": 4,
                           "groups": [group_json(PUBLIC_ACCESS_GROUP_ID, "Public Access"), group_json("AccessGroupId-1", "ml-alpha")],
                           "next": {"href": "https://iam.cloud.ibm.com/v2/groups?account_id=acct-from-token&limit=2&offset=2"}}),
                ),
                Some("2") => Reply::json(
                    200,
                    json!({"limit": 2, "offset": 2, "total_count": 4,
                           "groups": [group_json("AccessGroupId-2", "ML-beta"), group_json("AccessGroupId-3", "team-ml-gamma")]}),
                ),
                Some(other) => panic!("unexpected offset {other}"),
            }
        })
        .await;
        let groups = test_client(&mock, 0).list_access_groups(Some("ml-")).await.unwrap();
        assert_eq!(groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["ml-alpha"]);
        assert_eq!(mock.count("GET", "/v2/groups"), 2);
    }

    #[tokio::test]
    async fn listing_without_prefix_sends_no_search() {
        let mock = Mock::start(|req, _| {
            assert!(!query_map(&req.query).contains_key("search"), "{}", req.query);
            Reply::json(200, json!({"groups": [group_json(PUBLIC_ACCESS_GROUP_ID, "Public Access"), group_json("AccessGroupId-1", "a")]}))
        })
        .await;
        let groups = test_client(&mock, 0).list_access_groups(None).await.unwrap();
        assert_eq!(groups.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(), ["AccessGroupId-1"]);
    }

    #[test]
    fn member_kind_from_prefix() {
        assert_eq!(MemberKind::of("IBMid-123"), Some(MemberKind::User));
        assert_eq!(MemberKind::of("iam-ServiceId-abc"), Some(MemberKind::Service));
        assert_eq!(MemberKind::of("iam-Profile-abc"), Some(MemberKind::Profile));
        assert_eq!(MemberKind::of("IBMid-"), None);
        assert_eq!(MemberKind::of("user@example.com"), None);
    }

    #[test]
    fn per_member_failures_are_found() {
        let body = json!({"members": [
            {"iam_id": "IBMid-a", "status_code": 200},
            {"iam_id": "IBMid-b", "status_code": 400, "errors": [{"code": "x", "message": "limit reached"}]},
            {"iam_id": "IBMid-c", "status_code": 404, "errors": [{"code": "not_found"}]}
        ]});
        let f = member_failures(&body, &[]);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].message, "limit reached");
        assert_eq!(member_failures(&body, &[404]).len(), 1);
    }
}
