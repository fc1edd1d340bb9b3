//! IAM Access Groups v2 — groups, static members and dynamic rules (`/v2/groups`).
//!
//! Kinds: [`GROUPS`] (id `AccessGroupId-<uuid>`, value = the Group JSON), [`MEMBERS`] (id
//! `<group_id>/<iam_id>`, value `{access_group_id, iam_id, type, created_at, created_by_id}`) and
//! [`RULES`] (id `ClaimRule-<uuid>`, value = the Rule JSON with `access_group_id`).
//!
//! Every account has IBM's built-in Public Access group ([`PUBLIC_ACCESS_ID`], seeded at start by
//! [`seed_public_access_group`]): listed unless `hide_public_access=true`, never renamed, deleted
//! or given members or rules.
//!
//! Choices where IBM's behaviour is UNCERTAIN (see docs/emulator.md): a duplicate group name
//! (ignoring case) is a 409; a stale `If-Match` is a 412; a rule condition `value` sent as a
//! JSON string literal (`"\"ml\""`) is stored and returned bare (`ml`). The other behaviour, IBM
//! returning values JSON-quoted, is simulated by patching a stored rule through the admin API.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, head, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Map, Value};

use super::errors::{new_trace_id, parse_json_object, ApiError};
use super::iam_token::Caller;
use super::state::{etag_matches, iso_timestamp, new_etag, AppState, Record, Txn};

pub const GROUPS: &str = "access_groups";
pub const MEMBERS: &str = "access_group_members";
pub const RULES: &str = "access_group_rules";
/// IBM's limits: members per add/remove call, and groups one IAM ID may belong to.
const MAX_BATCH: usize = 50;
const MAX_GROUPS_PER_MEMBER: usize = 50;
/// IBM's fixed id of every account's Public Access group.
pub const PUBLIC_ACCESS_ID: &str = "AccessGroupId-PublicAccess";
pub const PUBLIC_ACCESS_NAME: &str = "Public Access";
/// UNCERTAIN: IBM's exact wording of the built-in group's description.
const PUBLIC_ACCESS_DESCRIPTION: &str = "Public access group for the account";
const OPERATORS: &[&str] = &["EQUALS", "EQUALS_IGNORE_CASE", "IN", "NOT_EQUALS", "NOT_EQUALS_IGNORE_CASE", "CONTAINS"];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v2/groups", get(list_groups).post(create_group))
        .route("/v2/groups/{id}", get(get_group).patch(update_group).delete(delete_group))
        .route("/v2/groups/{id}/members", get(list_members).put(add_members))
        .route("/v2/groups/{id}/members/delete", post(remove_members))
        .route("/v2/groups/{id}/members/{iam_id}", head(is_member).delete(remove_member))
        .route("/v2/groups/{id}/rules", get(list_rules).post(create_rule))
        .route("/v2/groups/{id}/rules/{rule_id}", get(get_rule).put(replace_rule).delete(delete_rule))
}

/// `user`, `service` or `profile`, from the IAM ID's prefix.
pub fn member_type(iam_id: &str) -> Option<&'static str> {
    let typed = |prefix: &str| iam_id.len() > prefix.len() && iam_id.starts_with(prefix);
    if typed("IBMid-") {
        Some("user")
    } else if typed("iam-ServiceId-") {
        Some("service")
    } else if typed("iam-Profile-") {
        Some("profile")
    } else {
        None
    }
}

pub fn member_id(group_id: &str, iam_id: &str) -> String {
    format!("{group_id}/{iam_id}")
}

fn group_not_found(id: &str) -> ApiError {
    ApiError::not_found("not_found", format!("Access group '{id}' was not found."))
}

fn rule_not_found(id: &str) -> ApiError {
    ApiError::not_found("not_found", format!("Rule '{id}' was not found."))
}

fn with_etag(status: StatusCode, record: &Record, body: Value) -> Response {
    (status, [(header::ETAG, record.etag_header())], Json(body)).into_response()
}

fn required_if_match(headers: &HeaderMap, what: &str) -> Result<String, ApiError> {
    headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()).map(str::to_string).ok_or_else(|| {
        ApiError::platform(StatusCode::BAD_REQUEST, "missing_required_header", format!("The If-Match header is required to update {what}."))
    })
}

fn stale_etag(what: &str) -> ApiError {
    // UNCERTAIN in IBM's docs (412 or 409); the emulator answers 412.
    ApiError::platform(
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
        format!("The If-Match header does not match the current ETag of {what}."),
    )
}

/// A visible group of the caller's account.
fn visible_group<'a>(tx: &'a Txn<'_>, id: &str) -> Result<&'a Record, ApiError> {
    tx.get_visible(GROUPS, id).ok_or_else(|| group_not_found(id))
}

fn group_crn(account_id: &str, id: &str) -> String {
    format!("crn:v1:bluemix:public:iam-groups::a/{account_id}::access-group:{id}")
}

/// Gives the emulator's account IBM's Public Access group unless the store (state file) already
/// holds it for this account; an account always has it, so one deleted through the admin API
/// comes back at the next start.
pub fn seed_public_access_group(state: &AppState) {
    let account_id = state.account_id().to_string();
    let href = format!("{}/v2/groups/{PUBLIC_ACCESS_ID}", state.base_url());
    state.with_objects(|tx| {
        if tx.get(GROUPS, PUBLIC_ACCESS_ID).is_some_and(|r| r.value["account_id"] == *account_id) {
            return;
        }
        let now = iso_timestamp(tx.now_ms());
        // UNCERTAIN: who IBM names as the creator of the built-in group; the emulator says `system`.
        let group = json!({
            "id": PUBLIC_ACCESS_ID, "name": PUBLIC_ACCESS_NAME, "description": PUBLIC_ACCESS_DESCRIPTION, "account_id": account_id,
            "created_at": now, "created_by_id": "system", "last_modified_at": now, "last_modified_by_id": "system",
            "href": href, "is_federated": false, "crn": group_crn(&account_id, PUBLIC_ACCESS_ID),
        });
        // Visible at once, whatever the lag: it existed long before any client came.
        let record = Record { value: group, revision: 1, etag: new_etag(1), created_at_ms: tx.now_ms(), visible_at_ms: 0 };
        tx.put_record(GROUPS, PUBLIC_ACCESS_ID, record);
    });
}

/// IBM manages the Public Access group itself. UNCERTAIN: IBM's status and code for these refusals
/// are undocumented; the emulator answers 403 `forbidden`, as for an action nobody may take.
fn refuse_public_access(id: &str, what: &str) -> Result<(), ApiError> {
    if id != PUBLIC_ACCESS_ID {
        return Ok(());
    }
    Err(ApiError::platform(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!("The Public Access group ({PUBLIC_ACCESS_ID}) is managed by IBM Cloud: {what}."),
    ))
}

/// The limit/offset paging IBM's Access Groups lists use, with `next.href` and friends.
fn page(items: Vec<Value>, query: &HashMap<String, String>, base: &str, path: &str, key: &str) -> Result<Value, ApiError> {
    let limit = match query.get("limit") {
        Some(l) => l.parse::<usize>().ok().filter(|l| *l <= 100).ok_or_else(|| ApiError::invalid_body("'limit' must be 0 to 100."))?,
        None => 50,
    };
    let offset = match query.get("offset") {
        Some(o) => o.parse::<usize>().map_err(|_| ApiError::invalid_body("'offset' must be a non-negative integer."))?,
        None => 0,
    };
    let total = items.len();
    let on_page: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    let mut kept: Vec<(String, String)> =
        query.iter().filter(|(k, _)| *k != "offset" && *k != "limit").map(|(k, v)| (k.clone(), v.clone())).collect();
    kept.sort();
    let href = |at: usize| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &kept {
            q.append_pair(k, v);
        }
        q.append_pair("limit", &limit.to_string()).append_pair("offset", &at.to_string());
        json!({ "href": format!("{base}{path}?{}", q.finish()) })
    };
    let mut body = json!({ "limit": limit, "offset": offset, "total_count": total, "first": href(0), key: on_page });
    if limit > 0 && offset + limit < total {
        body["next"] = href(offset + limit);
        body["last"] = href((total - 1) / limit * limit);
    }
    if offset > 0 && limit > 0 {
        body["previous"] = href(offset.saturating_sub(limit));
    }
    Ok(body)
}

// ----- groups -----

fn group_name(body: &Map<String, Value>, required: bool) -> Result<Option<String>, ApiError> {
    match body.get("name") {
        Some(Value::String(n)) if !n.trim().is_empty() && n.chars().count() <= 100 => Ok(Some(n.clone())),
        Some(Value::String(_)) => Err(ApiError::invalid_body("The field 'name' must be 1 to 100 characters.")),
        None | Some(Value::Null) if !required => Ok(None),
        _ => Err(ApiError::invalid_body("The field 'name' is required and must be a string.")),
    }
}

fn group_description(body: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    match body.get("description") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(d)) if d.chars().count() <= 250 => Ok(Some(d.clone())),
        _ => Err(ApiError::invalid_body("The field 'description' must be a string of at most 250 characters.")),
    }
}

/// Group names are unique in an account, ignoring case (UNCERTAIN in IBM's docs; see module doc).
fn name_conflict(tx: &Txn<'_>, account_id: &str, name: &str, except: Option<&str>) -> Result<(), ApiError> {
    let lower = name.to_lowercase();
    let clash = tx.iter_all(GROUPS).find(|(id, r)| {
        Some(id.as_str()) != except
            && r.value["account_id"] == account_id
            && r.value["name"].as_str().is_some_and(|n| n.to_lowercase() == lower)
    });
    match clash {
        Some((id, _)) => Err(ApiError::platform(
            StatusCode::CONFLICT,
            "conflict",
            format!("An access group named '{name}' already exists in the account (id {id})."),
        )),
        None => Ok(()),
    }
}

async fn create_group(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let account_id = query
        .get("account_id")
        .filter(|a| !a.is_empty())
        .cloned()
        .ok_or_else(|| ApiError::invalid_body("The query parameter 'account_id' is required."))?;
    if account_id != caller.account_id {
        return Err(ApiError::platform(
            StatusCode::FORBIDDEN,
            "insufficent_permissions",
            format!("You are not allowed to create access groups in account '{account_id}'."),
        ));
    }
    let body = parse_json_object(&body)?;
    let name = group_name(&body, true)?.unwrap_or_default();
    let description = group_description(&body)?;
    let record = state.with_objects(|tx| {
        name_conflict(tx, &account_id, &name, None)?;
        let id = format!("AccessGroupId-{}", uuid::Uuid::new_v4());
        let now = iso_timestamp(tx.now_ms());
        let group = json!({
            "id": id, "name": name, "description": description.unwrap_or_default(), "account_id": account_id,
            "created_at": now, "created_by_id": caller.iam_id, "last_modified_at": now, "last_modified_by_id": caller.iam_id,
            "href": format!("{}/v2/groups/{id}", state.base_url()), "is_federated": false,
            "crn": group_crn(&account_id, &id),
        });
        Ok::<_, ApiError>(tx.create(GROUPS, &id, group))
    })?;
    Ok(with_etag(StatusCode::CREATED, &record, record.value.clone()))
}

/// `search` is `name:x`, `id:x` or `description:x` (case-insensitive substring).
fn matches_search(group: &Value, search: Option<&String>) -> bool {
    let Some(search) = search.filter(|s| !s.is_empty()) else {
        return true;
    };
    let (field, needle) = search.split_once(':').unwrap_or(("name", search.as_str()));
    let needle = needle.to_lowercase();
    group[field].as_str().is_some_and(|v| v.to_lowercase().contains(&needle))
}

async fn list_groups(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let account_id = query
        .get("account_id")
        .filter(|a| !a.is_empty())
        .cloned()
        .ok_or_else(|| ApiError::invalid_body("The query parameter 'account_id' is required."))?;
    if account_id != caller.account_id {
        return Err(ApiError::platform(
            StatusCode::FORBIDDEN,
            "insufficent_permissions",
            "You cannot list access groups of another account.",
        ));
    }
    let member = query.get("iam_id").filter(|m| !m.is_empty());
    let hide_public_access = query.get("hide_public_access").is_some_and(|h| h == "true");
    let groups: Vec<Value> = state.with_objects(|tx| {
        let mut groups: Vec<Value> = tx
            .iter_visible(GROUPS)
            .filter(|(_, r)| r.value["account_id"] == *account_id)
            .filter(|(id, _)| !(hide_public_access && id.as_str() == PUBLIC_ACCESS_ID))
            .filter(|(_, r)| matches_search(&r.value, query.get("search")))
            .filter(|(id, _)| member.is_none_or(|m| tx.get_visible(MEMBERS, &member_id(id, m)).is_some()))
            .map(|(_, r)| r.value.clone())
            .collect();
        groups.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        groups
    });
    Ok(Json(page(groups, &query, state.base_url(), "/v2/groups", "groups")?))
}

async fn get_group(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let record = state.with_objects(|tx| visible_group(tx, &id).cloned())?;
    Ok(with_etag(StatusCode::OK, &record, record.value.clone()))
}

async fn update_group(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    refuse_public_access(&id, "it cannot be renamed or changed")?;
    let if_match = required_if_match(&headers, "an access group")?;
    let body = parse_json_object(&body)?;
    let name = group_name(&body, false)?;
    let description = group_description(&body)?;
    let record = state.with_objects(|tx| {
        let current = visible_group(tx, &id)?;
        if !etag_matches(&if_match, &current.etag) {
            return Err(stale_etag("the access group"));
        }
        let mut group = current.value.clone();
        if let Some(name) = name {
            let account = group["account_id"].as_str().unwrap_or_default().to_string();
            name_conflict(tx, &account, &name, Some(&id))?;
            group["name"] = json!(name);
        }
        if let Some(d) = description {
            group["description"] = json!(d);
        }
        group["last_modified_at"] = json!(iso_timestamp(tx.now_ms()));
        group["last_modified_by_id"] = json!(caller.iam_id);
        tx.update(GROUPS, &id, group).ok_or_else(|| group_not_found(&id))
    })?;
    Ok(with_etag(StatusCode::OK, &record, record.value.clone()))
}

async fn delete_group(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<StatusCode, ApiError> {
    refuse_public_access(&id, "it cannot be deleted")?;
    let force = query.get("force").is_some_and(|f| f == "true");
    state.with_objects(|tx| {
        visible_group(tx, &id)?;
        let prefix = format!("{id}/");
        let members: Vec<String> = tx.iter_all(MEMBERS).filter(|(k, _)| k.starts_with(&prefix)).map(|(k, _)| k.clone()).collect();
        let rules: Vec<String> = tx.iter_all(RULES).filter(|(_, r)| r.value["access_group_id"] == *id).map(|(k, _)| k.clone()).collect();
        if !force && (!members.is_empty() || !rules.is_empty()) {
            // UNCERTAIN status in IBM's docs; the emulator answers 409.
            return Err(ApiError::platform(
                StatusCode::CONFLICT,
                "request_not_processed",
                "The access group has members or rules; delete with force=true.",
            ));
        }
        for k in members {
            tx.remove(MEMBERS, &k);
        }
        for k in rules {
            tx.remove(RULES, &k);
        }
        tx.remove(GROUPS, &id);
        Ok(StatusCode::NO_CONTENT)
    })
}

// ----- members -----

async fn list_members(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let membership = query.get("membership_type").map(String::as_str).unwrap_or("all");
    if !["static", "dynamic", "all"].contains(&membership) {
        return Err(ApiError::invalid_body("'membership_type' must be static, dynamic or all."));
    }
    let type_filter = query.get("type").filter(|t| !t.is_empty());
    let members = state.with_objects(|tx| {
        visible_group(tx, &id)?;
        let prefix = format!("{id}/");
        // Dynamic members come from the login simulation, and are listed only when asked for.
        let now = tx.now_ms();
        let dynamic: Vec<Value> = tx
            .iter_all(super::login::DYNAMIC_MEMBERS)
            .filter(|(k, r)| k.starts_with(&prefix) && r.value["_expires_at_ms"].as_u64().is_none_or(|t| t > now))
            .map(|(_, r)| {
                let mut m = r.value.clone();
                if let Some(f) = m.as_object_mut() {
                    f.retain(|k, _| !k.starts_with('_') && k != "access_group_id");
                }
                m
            })
            .collect();
        let members: Vec<Value> = if membership == "dynamic" {
            dynamic
        } else {
            tx.iter_visible(MEMBERS)
                .filter(|(k, _)| k.starts_with(&prefix))
                .filter(|(_, r)| type_filter.is_none_or(|t| r.value["type"] == **t))
                .map(|(_, r)| {
                    let mut m = r.value.clone();
                    m["membership_type"] = json!("static");
                    if let Some(f) = m.as_object_mut() {
                        f.remove("access_group_id");
                    }
                    m
                })
                .chain(if membership == "all" { dynamic } else { Vec::new() })
                .collect()
        };
        Ok::<_, ApiError>(members)
    })?;
    Ok(Json(page(members, &query, state.base_url(), &format!("/v2/groups/{id}/members"), "members")?))
}

fn member_error(iam_id: &str, status: StatusCode, code: &str, message: String) -> Value {
    json!({"iam_id": iam_id, "status_code": status.as_u16(), "trace": new_trace_id(), "errors": [{"code": code, "message": message}]})
}

async fn add_members(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    // Everyone is in it implicitly, so nobody can be added (the refusal's status is UNCERTAIN).
    refuse_public_access(&id, "members cannot be added to it")?;
    let body = parse_json_object(&body)?;
    let Some(Value::Array(requested)) = body.get("members") else {
        return Err(ApiError::invalid_body("The field 'members' is required and must be a list."));
    };
    if requested.is_empty() || requested.len() > MAX_BATCH {
        return Err(ApiError::invalid_body(format!("'members' must hold 1 to {MAX_BATCH} members.")));
    }
    let results = state.with_objects(|tx| {
        visible_group(tx, &id)?;
        let mut results = Vec::new();
        for m in requested {
            let iam_id = m["iam_id"].as_str().unwrap_or_default().to_string();
            let kind = m["type"].as_str().unwrap_or_default();
            match member_type(&iam_id) {
                Some(t) if t == kind => {}
                _ => {
                    results.push(member_error(&iam_id, StatusCode::BAD_REQUEST, "invalid_member", format!("'{iam_id}' is not a valid IAM ID of type '{kind}'.")));
                    continue;
                }
            }
            let key = member_id(&id, &iam_id);
            if let Some(existing) = tx.get(MEMBERS, &key) {
                let mut v = existing.value.clone();
                v["status_code"] = json!(200);
                results.push(v);
                continue;
            }
            let suffix = format!("/{iam_id}");
            if tx.iter_all(MEMBERS).filter(|(k, _)| k.ends_with(&suffix)).count() >= MAX_GROUPS_PER_MEMBER {
                results.push(member_error(&iam_id, StatusCode::BAD_REQUEST, "limit_exceeded", format!("'{iam_id}' is already in {MAX_GROUPS_PER_MEMBER} access groups.")));
                continue;
            }
            let value = json!({"access_group_id": id, "iam_id": iam_id, "type": kind, "created_at": iso_timestamp(tx.now_ms()), "created_by_id": caller.iam_id});
            let record = tx.create(MEMBERS, &key, value);
            let mut v = record.value;
            v["status_code"] = json!(200);
            results.push(v);
        }
        Ok::<_, ApiError>(results)
    })?;
    let results: Vec<Value> = results
        .into_iter()
        .map(|mut v| {
            if let Some(f) = v.as_object_mut() {
                f.remove("access_group_id");
            }
            v
        })
        .collect();
    Ok((StatusCode::MULTI_STATUS, Json(json!({ "members": results }))).into_response())
}

async fn is_member(State(state): State<AppState>, Path((id, iam_id)): Path<(String, String)>) -> StatusCode {
    state.with_objects(|tx| {
        if tx.get_visible(MEMBERS, &member_id(&id, &iam_id)).is_some() {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::NOT_FOUND
        }
    })
}

async fn remove_member(State(state): State<AppState>, Path((id, iam_id)): Path<(String, String)>) -> Result<StatusCode, ApiError> {
    state.with_objects(|tx| {
        visible_group(tx, &id)?;
        tx.remove(MEMBERS, &member_id(&id, &iam_id))
            .map(|_| StatusCode::NO_CONTENT)
            .ok_or_else(|| ApiError::not_found("not_found", format!("'{iam_id}' is not a member of access group '{id}'.")))
    })
}

async fn remove_members(State(state): State<AppState>, Path(id): Path<String>, body: Bytes) -> Result<Response, ApiError> {
    let body = parse_json_object(&body)?;
    let Some(Value::Array(requested)) = body.get("members") else {
        return Err(ApiError::invalid_body("The field 'members' is required and must be a list of IAM IDs."));
    };
    if requested.is_empty() || requested.len() > MAX_BATCH {
        return Err(ApiError::invalid_body(format!("'members' must hold 1 to {MAX_BATCH} IAM IDs.")));
    }
    let results = state.with_objects(|tx| {
        visible_group(tx, &id)?;
        Ok::<_, ApiError>(
            requested
                .iter()
                .map(|m| {
                    let iam_id = m.as_str().unwrap_or_default();
                    match tx.remove(MEMBERS, &member_id(&id, iam_id)) {
                        Some(_) => {
                            json!({"iam_id": iam_id, "trace": new_trace_id(), "status_code": 204})
                        }
                        None => member_error(
                            iam_id,
                            StatusCode::NOT_FOUND,
                            "not_found",
                            format!("'{iam_id}' is not a member of access group '{id}'."),
                        ),
                    }
                })
                .collect::<Vec<_>>(),
        )
    })?;
    Ok((StatusCode::MULTI_STATUS, Json(json!({"access_group_id": id, "members": results}))).into_response())
}

// ----- rules -----

/// A condition value sent as a JSON string literal (`"\"ml\""`) is stored bare (`ml`); anything
/// else (bare text, a JSON array for `IN`) is stored as sent.
fn stored_condition_value(value: &str) -> String {
    match serde_json::from_str::<Value>(value) {
        Ok(Value::String(inner)) => inner,
        _ => value.to_string(),
    }
}

fn rule_fields(body: &Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    let expiration = body
        .get("expiration")
        .and_then(Value::as_i64)
        .filter(|h| (1..=24).contains(h))
        .ok_or_else(|| ApiError::invalid_body("The field 'expiration' is required and must be an integer from 1 to 24 (hours)."))?;
    let realm = body
        .get("realm_name")
        .and_then(Value::as_str)
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| ApiError::invalid_body("The field 'realm_name' is required."))?;
    let Some(Value::Array(conditions)) = body.get("conditions") else {
        return Err(ApiError::invalid_body("The field 'conditions' is required and must be a list."));
    };
    if conditions.is_empty() {
        return Err(ApiError::invalid_body("A rule needs at least one condition."));
    }
    let mut stored = Vec::new();
    for c in conditions {
        let claim =
            c["claim"].as_str().filter(|s| !s.is_empty()).ok_or_else(|| ApiError::invalid_body("Every condition needs a 'claim'."))?;
        let operator = c["operator"]
            .as_str()
            .filter(|o| OPERATORS.contains(o))
            .ok_or_else(|| ApiError::invalid_body(format!("Every condition needs an 'operator', one of {}.", OPERATORS.join(", "))))?;
        let value = c["value"].as_str().ok_or_else(|| ApiError::invalid_body("Every condition needs a string 'value'."))?;
        stored.push(json!({"claim": claim, "operator": operator, "value": stored_condition_value(value)}));
    }
    let mut fields = Map::new();
    fields.insert("name".into(), json!(body.get("name").and_then(Value::as_str).unwrap_or_default()));
    fields.insert("expiration".into(), json!(expiration));
    fields.insert("realm_name".into(), json!(realm));
    fields.insert("conditions".into(), Value::Array(stored));
    Ok(fields)
}

fn visible_rule<'a>(tx: &'a Txn<'_>, group_id: &str, rule_id: &str) -> Result<&'a Record, ApiError> {
    visible_group(tx, group_id)?;
    tx.get_visible(RULES, rule_id).filter(|r| r.value["access_group_id"] == *group_id).ok_or_else(|| rule_not_found(rule_id))
}

async fn create_rule(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    // UNCERTAIN: IBM's console offers no dynamic rules for it; the emulator refuses them like members.
    refuse_public_access(&id, "dynamic rules cannot be added to it")?;
    let fields = rule_fields(&parse_json_object(&body)?)?;
    let record = state.with_objects(|tx| {
        let group = visible_group(tx, &id)?;
        let account_id = group.value["account_id"].clone();
        let rule_id = format!("ClaimRule-{}", uuid::Uuid::new_v4());
        let now = iso_timestamp(tx.now_ms());
        let mut rule = json!({
            "id": rule_id, "access_group_id": id, "account_id": account_id,
            "created_at": now, "created_by_id": caller.iam_id, "last_modified_at": now, "last_modified_by_id": caller.iam_id,
        });
        for (k, v) in fields {
            rule[k] = v;
        }
        Ok::<_, ApiError>(tx.create(RULES, &rule_id, rule))
    })?;
    Ok(with_etag(StatusCode::CREATED, &record, record.value.clone()))
}

async fn list_rules(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let rules = state.with_objects(|tx| {
        visible_group(tx, &id)?;
        Ok::<_, ApiError>(
            tx.iter_visible(RULES).filter(|(_, r)| r.value["access_group_id"] == *id).map(|(_, r)| r.value.clone()).collect::<Vec<_>>(),
        )
    })?;
    Ok(Json(json!({ "rules": rules })))
}

async fn get_rule(State(state): State<AppState>, Path((id, rule_id)): Path<(String, String)>) -> Result<Response, ApiError> {
    let record = state.with_objects(|tx| visible_rule(tx, &id, &rule_id).cloned())?;
    Ok(with_etag(StatusCode::OK, &record, record.value.clone()))
}

async fn replace_rule(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, rule_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let if_match = required_if_match(&headers, "a rule")?;
    let fields = rule_fields(&parse_json_object(&body)?)?;
    let record = state.with_objects(|tx| {
        let current = visible_rule(tx, &id, &rule_id)?;
        if !etag_matches(&if_match, &current.etag) {
            return Err(stale_etag("the rule"));
        }
        let mut rule = current.value.clone();
        for (k, v) in fields {
            rule[k] = v;
        }
        rule["last_modified_at"] = json!(iso_timestamp(tx.now_ms()));
        rule["last_modified_by_id"] = json!(caller.iam_id);
        tx.update(RULES, &rule_id, rule).ok_or_else(|| rule_not_found(&rule_id))
    })?;
    Ok(with_etag(StatusCode::OK, &record, record.value.clone()))
}

async fn delete_rule(State(state): State<AppState>, Path((id, rule_id)): Path<(String, String)>) -> Result<StatusCode, ApiError> {
    state.with_objects(|tx| {
        visible_rule(tx, &id, &rule_id)?;
        tx.remove(RULES, &rule_id);
        Ok(StatusCode::NO_CONTENT)
    })
}

/// Used by User Management: adds a user to groups without the HTTP layer.
pub fn add_user_to_groups(tx: &mut Txn<'_>, iam_id: &str, groups: &[String], by: &str) {
    for g in groups {
        // An invite naming the Public Access group cannot make anyone a member of it.
        if g != PUBLIC_ACCESS_ID && tx.get(GROUPS, g).is_some() && tx.get(MEMBERS, &member_id(g, iam_id)).is_none() {
            let value = json!({"access_group_id": g, "iam_id": iam_id, "type": "user", "created_at": iso_timestamp(tx.now_ms()), "created_by_id": by});
            tx.create(MEMBERS, &member_id(g, iam_id), value);
        }
    }
}

/// Used by User Management: a removed user leaves every group.
pub fn remove_from_all_groups(tx: &mut Txn<'_>, iam_id: &str) {
    let suffix = format!("/{iam_id}");
    let keys: Vec<String> = tx.iter_all(MEMBERS).filter(|(k, _)| k.ends_with(&suffix)).map(|(k, _)| k.clone()).collect();
    for k in keys {
        tx.remove(MEMBERS, &k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_types_and_condition_values() {
        assert_eq!(member_type("IBMid-x"), Some("user"));
        assert_eq!(member_type("iam-ServiceId-x"), Some("service"));
        assert_eq!(member_type("iam-Profile-x"), Some("profile"));
        assert_eq!(member_type("x"), None);
        assert_eq!(stored_condition_value("\"ml\""), "ml");
        assert_eq!(stored_condition_value("ml"), "ml");
        assert_eq!(stored_condition_value("[\"a\",\"b\"]"), "[\"a\",\"b\"]");
    }
}

#[cfg(test)]
mod route_tests {
    use reqwest::{Method, StatusCode};
    use serde_json::json;

    use super::PUBLIC_ACCESS_ID;
    use crate::emulator::tests::Harness;
    use crate::emulator::EmulatorConfig;

    fn listed_ids(body: &serde_json::Value) -> Vec<String> {
        body["groups"].as_array().expect("groups").iter().filter_map(|g| g["id"].as_str().map(String::from)).collect()
    }

    #[tokio::test]
    async fn public_access_is_listed_unless_hidden_and_cannot_be_changed() {
        // A lag hides new objects, never the built-in group.
        let h = Harness::start(EmulatorConfig { lag_ms: 60_000, ..EmulatorConfig::default() }).await;
        let list = format!("/v2/groups?account_id={}", h.account());
        let (status, body, _) = h.call(Method::GET, &list, None, &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(listed_ids(&body), [PUBLIC_ACCESS_ID]);
        assert_eq!(body["groups"][0]["name"], "Public Access");
        assert_eq!(body["groups"][0]["description"], "Public access group for the account");
        let (_, hidden, _) = h.call(Method::GET, &format!("{list}&hide_public_access=true"), None, &[]).await;
        assert!(listed_ids(&hidden).is_empty(), "{hidden}");
        assert_eq!(hidden["total_count"], 0);

        let path = format!("/v2/groups/{PUBLIC_ACCESS_ID}");
        let (status, _, headers) = h.call(Method::GET, &path, None, &[]).await;
        assert_eq!(status, StatusCode::OK);
        let etag = headers["etag"].to_str().unwrap().to_string();
        let (status, body, _) = h.call(Method::PATCH, &path, Some(json!({"name": "Everyone"})), &[("If-Match", &etag)]).await;
        assert_eq!((status, body["errors"][0]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{body}");
        let (status, _, _) = h.call(Method::DELETE, &format!("{path}?force=true"), None, &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let members = json!({"members": [{"iam_id": "IBMid-123", "type": "user"}]});
        let (status, body, _) = h.call(Method::PUT, &format!("{path}/members"), Some(members), &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let rule = json!({"expiration": 1, "realm_name": "r", "conditions": [{"claim": "c", "operator": "EQUALS", "value": "v"}]});
        let (status, _, _) = h.call(Method::POST, &format!("{path}/rules"), Some(rule), &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = h.call(Method::GET, &path, None, &[]).await;
        assert_eq!(status, StatusCode::OK, "still there");
        // Its name is taken, as any group's.
        let (status, _, _) = h.call(Method::POST, &list, Some(json!({"name": "public access"})), &[]).await;
        assert_eq!(status, StatusCode::CONFLICT);
    }

    #[tokio::test]
    async fn public_access_survives_a_restart_once() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = EmulatorConfig { state_file: Some(dir.path().join("state.json")), ..EmulatorConfig::default() };
        let object = format!("/_emulator/objects/access_groups/{PUBLIC_ACCESS_ID}");
        let first = Harness::start(cfg.clone()).await;
        let (status, before) = first.admin(Method::GET, &object, None).await;
        assert_eq!(status, StatusCode::OK);
        drop(first);
        let second = Harness::start(cfg.clone()).await;
        let (_, after) = second.admin(Method::GET, &object, None).await;
        assert_eq!((after["revision"].as_u64(), &after["etag"]), (Some(1), &before["etag"]), "kept, not seeded again");
        let (_, kinds) = second.admin(Method::GET, "/_emulator/objects", None).await;
        assert_eq!(kinds["kinds"]["access_groups"], 1);
        // Deleted behind IBM's back, it comes back at the next start: every account has it.
        second.admin(Method::DELETE, &object, None).await;
        drop(second);
        let third = Harness::start(cfg).await;
        assert_eq!(third.admin(Method::GET, &object, None).await.0, StatusCode::OK);
    }
}
