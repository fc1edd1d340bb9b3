//! IAM Policy Management — access policies v1 (`/v1/policies`).
//!
//! Policies are stored objects of kind [`KIND`], holding the Policy JSON as returned (without
//! `href`, which follows the current base URL). Role CRNs are checked against the system roles,
//! the service roles of the policy's service and the account's custom roles of that service.
//! Access groups and instances named by a policy are not checked (UNCERTAIN whether IBM does).

use std::collections::{BTreeSet, HashMap};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{json, Map, Value};

use super::errors::{parse_json_object, ApiError};
use super::iam_roles::{self, quantum_service_roles, system_roles, QUANTUM_SERVICE};
use super::iam_token::Caller;
use super::state::{etag_matches, iso_timestamp, AppState, Record, Txn};

/// Object kind of policies in the store (and in the admin API).
pub const KIND: &str = "policies";
/// Page size when `limit` is absent, and the largest accepted (UNCERTAIN for IBM: 50 / 100).
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/policies", get(list_policies).post(create_policy))
        .route("/v1/policies/{id}", get(get_policy).put(replace_policy).delete(delete_policy))
}

fn presented(policy: &Value, base_url: &str) -> Value {
    let mut policy = policy.clone();
    if let Some(id) = policy["id"].as_str() {
        policy["href"] = Value::String(format!("{base_url}/v1/policies/{id}"));
    }
    policy
}

fn policy_response(state: &AppState, status: StatusCode, record: &Record) -> Response {
    (status, [(header::ETAG, record.etag_header())], Json(presented(&record.value, state.base_url()))).into_response()
}

fn policy_not_found(id: &str) -> ApiError {
    ApiError::not_found("policy_not_found", format!("Policy with Id {id} not found."))
}

/// `[{name, value}]` as a comparable set.
fn attribute_set(attributes: &Value) -> BTreeSet<(String, String)> {
    attributes
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| (a["name"].as_str().unwrap_or_default().to_string(), a["value"].as_str().unwrap_or_default().to_string()))
        .collect()
}

fn attribute_value<'a>(attributes: &'a Value, name: &str) -> Option<&'a str> {
    attributes.as_array()?.iter().find(|a| a["name"] == name)?["value"].as_str()
}

/// `[{"attributes": [{name, value, operator?}, ...]}]`, exactly one entry, every value a non-empty string.
fn one_attribute_list(body: &Map<String, Value>, field: &str) -> Result<Value, ApiError> {
    let Some(Value::Array(entries)) = body.get(field) else {
        return Err(ApiError::invalid_body(format!("The field '{field}' is required and must be a list.")));
    };
    let [entry] = entries.as_slice() else {
        return Err(ApiError::invalid_body(format!("The field '{field}' must contain exactly one entry.")));
    };
    let Some(Value::Array(attributes)) = entry.get("attributes") else {
        return Err(ApiError::invalid_body(format!("'{field}[0].attributes' is required and must be a list.")));
    };
    for attribute in attributes {
        let name_ok = attribute["name"].as_str().is_some_and(|n| !n.is_empty());
        let value_ok = attribute["value"].as_str().is_some_and(|v| !v.is_empty() && v.chars().count() <= 1000);
        if !name_ok || !value_ok {
            return Err(ApiError::invalid_body(format!(
                "Every attribute of '{field}' needs a 'name' and a 'value' of 1 to 1000 characters."
            )));
        }
    }
    Ok(entry.clone())
}

/// The `{role_id, display_name, description}` entries for the requested role CRNs, or 400.
fn valid_roles(tx: &Txn<'_>, body: &Map<String, Value>, account_id: &str, service: Option<&str>) -> Result<Vec<Value>, ApiError> {
    let Some(Value::Array(roles)) = body.get("roles") else {
        return Err(ApiError::invalid_body("The field 'roles' is required and must be a list."));
    };
    if roles.is_empty() {
        return Err(ApiError::invalid_body("The field 'roles' must contain at least one role."));
    }
    let mut known: HashMap<String, Value> = HashMap::new();
    let builtin = system_roles().into_iter().chain(if service == Some(QUANTUM_SERVICE) { quantum_service_roles() } else { Vec::new() });
    for role in builtin {
        known.insert(role["crn"].as_str().unwrap_or_default().to_string(), role);
    }
    // The primary knows every custom role, also one still hidden by the consistency lag.
    for (_, record) in tx.iter_all(iam_roles::KIND) {
        let role = &record.value;
        if role["account_id"] == account_id && service.is_some_and(|s| role["service_name"] == s) {
            known.insert(role["crn"].as_str().unwrap_or_default().to_string(), role.clone());
        }
    }
    let mut out = Vec::with_capacity(roles.len());
    for role in roles {
        let Some(crn) = role.get("role_id").and_then(Value::as_str) else {
            return Err(ApiError::invalid_body("Every entry of 'roles' needs a 'role_id'."));
        };
        let Some(found) = known.get(crn) else {
            return Err(ApiError::invalid_body(format!(
                "Invalid role_id '{crn}': it is not a role of service '{}' in this account.",
                service.unwrap_or("<none>")
            )));
        };
        out.push(json!({"role_id": crn, "display_name": found["display_name"], "description": found.get("description").cloned().unwrap_or(json!(""))}));
    }
    Ok(out)
}

/// Parses and checks a create or replace body; returns `(type, subjects, roles, resources)`.
fn checked_body(tx: &Txn<'_>, body: &Map<String, Value>, caller: &Caller) -> Result<(String, Value, Vec<Value>, Value), ApiError> {
    let policy_type = match body.get("type").and_then(Value::as_str) {
        Some(t @ ("access" | "authorization")) => t.to_string(),
        _ => return Err(ApiError::invalid_body("The field 'type' is required and must be 'access' or 'authorization'.")),
    };
    let subject = one_attribute_list(body, "subjects")?;
    let subject_ok =
        subject["attributes"].as_array().is_some_and(|a| a.iter().any(|x| x["name"] == "access_group_id" || x["name"] == "iam_id"));
    if !subject_ok {
        return Err(ApiError::invalid_body("The subject needs an 'access_group_id' or 'iam_id' attribute."));
    }
    let resource = one_attribute_list(body, "resources")?;
    let attributes = &resource["attributes"];
    match attribute_value(attributes, "accountId") {
        None => return Err(ApiError::invalid_body("The resource needs an 'accountId' attribute.")),
        Some(account) if account != caller.account_id => {
            return Err(ApiError::platform(
                StatusCode::FORBIDDEN,
                "insufficent_permissions",
                format!("You are not allowed to create policies in account '{account}'."),
            ))
        }
        Some(_) => {}
    }
    if !["serviceName", "serviceType", "resourceGroupId", "service_group_id"].iter().any(|n| attribute_value(attributes, n).is_some()) {
        return Err(ApiError::invalid_body(
            "The resource needs one of 'serviceName', 'serviceType', 'resourceGroupId' or 'service_group_id'.",
        ));
    }
    let roles = valid_roles(tx, body, &caller.account_id, attribute_value(attributes, "serviceName"))?;
    Ok((policy_type, json!([subject]), roles, json!([resource])))
}

/// 409 when another policy has the same subject and resource.
fn conflict_check(tx: &Txn<'_>, state: &AppState, subjects: &Value, resources: &Value, except: Option<&str>) -> Result<(), ApiError> {
    let subject = attribute_set(&subjects[0]["attributes"]);
    let resource = attribute_set(&resources[0]["attributes"]);
    let existing = tx.iter_all(KIND).find(|(id, record)| {
        Some(id.as_str()) != except
            && attribute_set(&record.value["subjects"][0]["attributes"]) == subject
            && attribute_set(&record.value["resources"][0]["attributes"]) == resource
    });
    match existing {
        Some((_, record)) => Err(ApiError::platform(
            StatusCode::CONFLICT,
            "policy_conflict_error",
            "Failed to create policy: a policy with the same subject and resource already exists.",
        )
        .with_details(json!({"conflicts_with": {"etag": record.etag, "policy": presented(&record.value, state.base_url())}}))),
        None => Ok(()),
    }
}

async fn list_policies(State(state): State<AppState>, Query(query): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    let Some(account_id) = query.get("account_id").filter(|a| !a.is_empty()) else {
        return Err(ApiError::platform(
            StatusCode::BAD_REQUEST,
            "missing_required_query_parameter",
            "The query parameter 'account_id' is required.",
        ));
    };
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| ApiError::invalid_body(format!("'limit' must be a number from 1 to {MAX_LIMIT}.")))?,
    };
    let offset = match query.get("start") {
        None => 0,
        Some(token) => token.parse::<usize>().map_err(|_| ApiError::invalid_body("Invalid 'start' token."))?,
    };
    let filter = |name: &str| query.get(name).filter(|v| !v.is_empty());
    let mut policies: Vec<(u64, String, Value)> = state.with_objects(|tx| {
        tx.iter_visible(KIND)
            .filter(|(_, r)| attribute_value(&r.value["resources"][0]["attributes"], "accountId") == Some(account_id.as_str()))
            .filter(|(_, r)| filter("type").is_none_or(|t| r.value["type"] == **t))
            .filter(|(_, r)| {
                ["access_group_id", "iam_id"].iter().all(|name| {
                    filter(name).is_none_or(|want| attribute_value(&r.value["subjects"][0]["attributes"], name) == Some(want.as_str()))
                })
            })
            .map(|(id, r)| (r.created_at_ms, id.clone(), presented(&r.value, state.base_url())))
            .collect()
    });
    policies.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let total = policies.len();
    let page: Vec<Value> = policies.into_iter().skip(offset).take(limit).map(|(_, _, p)| p).collect();
    let base = format!("{}/v1/policies?account_id={account_id}&limit={limit}", state.base_url());
    let mut body = json!({"limit": limit, "first": {"href": base}, "policies": page});
    if offset + limit < total {
        let start = (offset + limit).to_string();
        body["next"] = json!({"href": format!("{base}&start={start}"), "start": start});
    }
    if offset > 0 {
        let start = offset.saturating_sub(limit).to_string();
        body["previous"] = json!({"href": format!("{base}&start={start}"), "start": start});
    }
    Ok(Json(body).into_response())
}

async fn create_policy(State(state): State<AppState>, Extension(caller): Extension<Caller>, body: Bytes) -> Result<Response, ApiError> {
    let body = parse_json_object(&body)?;
    let created = state.with_objects(|tx| {
        let (policy_type, subjects, roles, resources) = checked_body(tx, &body, &caller)?;
        conflict_check(tx, &state, &subjects, &resources, None)?;
        let id = uuid::Uuid::new_v4().to_string();
        let now = iso_timestamp(tx.now_ms());
        let mut policy = json!({
            "id": id, "type": policy_type, "subjects": subjects, "roles": roles, "resources": resources,
            "created_at": now, "created_by_id": caller.iam_id, "last_modified_at": now,
            "last_modified_by_id": caller.iam_id, "state": "active",
        });
        if let Some(description) = body.get("description").filter(|d| d.is_string()) {
            policy["description"] = description.clone();
        }
        Ok::<_, ApiError>(tx.create(KIND, &id, policy))
    })?;
    Ok(policy_response(&state, StatusCode::CREATED, &created))
}

async fn get_policy(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let record = state.with_objects(|tx| tx.get_visible(KIND, &id).cloned()).ok_or_else(|| policy_not_found(&id))?;
    Ok(policy_response(&state, StatusCode::OK, &record))
}

async fn replace_policy(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some(if_match) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()).map(str::to_string) else {
        return Err(ApiError::platform(
            StatusCode::BAD_REQUEST,
            "missing_required_header",
            "The If-Match header is required to update a policy.",
        ));
    };
    let body = parse_json_object(&body)?;
    let updated = state.with_objects(|tx| {
        let current = tx.get_visible(KIND, &id).cloned().ok_or_else(|| policy_not_found(&id))?;
        // UNCERTAIN: IBM may answer a stale ETag with 409; the emulator uses 412.
        if !etag_matches(&if_match, &current.etag) {
            return Err(ApiError::platform(
                StatusCode::PRECONDITION_FAILED,
                "precondition_failed",
                "The If-Match header does not match the current ETag of the policy.",
            ));
        }
        let (policy_type, subjects, roles, resources) = checked_body(tx, &body, &caller)?;
        if current.value["type"] != policy_type.as_str() {
            return Err(ApiError::invalid_body("The policy type cannot be changed."));
        }
        conflict_check(tx, &state, &subjects, &resources, Some(&id))?;
        let mut policy = current.value.clone();
        policy["subjects"] = subjects;
        policy["roles"] = json!(roles);
        policy["resources"] = resources;
        policy["last_modified_at"] = Value::String(iso_timestamp(tx.now_ms()));
        policy["last_modified_by_id"] = Value::String(caller.iam_id.clone());
        match body.get("description").filter(|d| d.is_string()) {
            Some(description) => policy["description"] = description.clone(),
            None => {
                if let Some(fields) = policy.as_object_mut() {
                    fields.remove("description");
                }
            }
        }
        tx.update(KIND, &id, policy).ok_or_else(|| policy_not_found(&id))
    })?;
    Ok(policy_response(&state, StatusCode::OK, &updated))
}

async fn delete_policy(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    state.with_objects(|tx| {
        if tx.get_visible(KIND, &id).is_none() {
            return Err(policy_not_found(&id));
        }
        tx.remove(KIND, &id);
        Ok(())
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use reqwest::Method;

    use crate::emulator::tests::Harness;
    use crate::emulator::EmulatorConfig;

    /// Status, body and ETag header of an authenticated request.
    async fn call(h: &Harness, method: Method, path: &str, body: Option<Value>, if_match: Option<&str>) -> (u16, Value, String) {
        let headers: Vec<(&str, &str)> = if_match.map(|t| ("If-Match", t)).into_iter().collect();
        let (status, body, response_headers) = h.call(method, path, body, &headers).await;
        let etag = response_headers.get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        (status.as_u16(), body, etag)
    }

    fn policy(account: &str, instance: &str, role: &str) -> Value {
        json!({"type": "access",
               "subjects": [{"attributes": [{"name": "access_group_id", "value": "AccessGroupId-1"}]}],
               "roles": [{"role_id": role}],
               "resources": [{"attributes": [{"name": "accountId", "value": account}, {"name": "serviceName", "value": "quantum-computing"},
                                             {"name": "serviceInstance", "value": instance}]}]})
    }

    #[tokio::test]
    async fn policies_page_conflict_validate_and_check_etags() {
        let h = Harness::start(EmulatorConfig::default()).await;
        let account = h.account();
        let viewer = "crn:v1:bluemix:public:iam::::role:Viewer";
        let post = |body: Value| call(&h, Method::POST, "/v1/policies", Some(body), None);

        let mut ids = Vec::new();
        for instance in ["i1", "i2", "i3"] {
            let (status, body, etag) = post(policy(&account, instance, viewer)).await;
            assert_eq!(status, 201, "{body}");
            assert!(etag.starts_with("\"1-"));
            assert_eq!(body["roles"][0]["display_name"], "Viewer");
            ids.push(body["id"].as_str().expect("id").to_string());
        }
        let (status, body, _) = post(policy(&account, "i1", "crn:v1:bluemix:public:iam::::serviceRole:Reader")).await;
        assert_eq!((status, body["errors"][0]["code"].as_str()), (409, Some("policy_conflict_error")));
        assert_eq!(body["errors"][0]["details"]["conflicts_with"]["policy"]["id"], ids[0].as_str());
        let (status, body, _) = post(policy(&account, "i9", "crn:v1:bluemix:public:iam::::role:Nope")).await;
        assert_eq!(status, 400, "{body}");
        let custom = format!("crn:v1:ibmcloud:public:iam-access-management::a/{account}::customRole:Missing");
        assert_eq!(post(policy(&account, "i9", &custom)).await.0, 400);

        // Paging with next.start.
        let h = &h;
        let list = |query: String| async move { call(h, Method::GET, &format!("/v1/policies?{query}"), None, None).await };
        assert_eq!(list("access_group_id=AccessGroupId-1".into()).await.0, 400, "account_id is required");
        let (_, first, _) = list(format!("account_id={account}&access_group_id=AccessGroupId-1&limit=2")).await;
        assert_eq!(first["policies"].as_array().map(Vec::len), Some(2));
        let start = first["next"]["start"].as_str().expect("next.start").to_string();
        let (_, second, _) = list(format!("account_id={account}&limit=2&start={start}")).await;
        assert_eq!(second["policies"].as_array().map(Vec::len), Some(1));
        assert!(second.get("next").is_none());
        let (_, other, _) = list(format!("account_id={account}&access_group_id=AccessGroupId-2")).await;
        assert_eq!(other["policies"], json!([]));

        // ETags: PUT needs the current one.
        let url = format!("/v1/policies/{}", ids[0]);
        let (_, _, etag) = call(h, Method::GET, &url, None, None).await;
        let body = policy(&account, "i1", "crn:v1:bluemix:public:iam::::serviceRole:Manager");
        assert_eq!(call(h, Method::PUT, &url, Some(body.clone()), None).await.0, 400);
        assert_eq!(call(h, Method::PUT, &url, Some(body.clone()), Some("\"1-stale\"")).await.0, 412);
        let (status, updated, new_etag) = call(h, Method::PUT, &url, Some(body), Some(&etag)).await;
        assert_eq!(status, 200, "{updated}");
        assert!(new_etag.starts_with("\"2-"));
        assert_eq!(call(h, Method::DELETE, &url, None, None).await.0, 204);
        let (status, body, _) = call(h, Method::GET, &url, None, None).await;
        assert_eq!((status, body["errors"][0]["code"].as_str()), (404, Some("policy_not_found")));
    }
}
