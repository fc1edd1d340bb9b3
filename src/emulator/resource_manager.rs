//! Resource Manager — resource groups (`/v2/resource_groups`), kind [`KIND`].
//!
//! The account starts with its `Default` group (seeded by [`seed_default_group`]). Deleting a
//! group is refused while it still holds instances that are not `removed`, pending reclamation
//! (`SCHEDULED` or `RECLAIMING`) included; deleted groups are dropped from the store (IBM may
//! keep their names reserved: UNCERTAIN, not emulated).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

use super::errors::{parse_json_object, ApiError};
use super::iam_token::Caller;
use super::resource_controller::finish_reclaiming;
use super::state::{iso_timestamp, new_etag, AppState, Record, Txn};

pub const KIND: &str = "resource_groups";
/// Kind of resource instances (see `resource_controller`).
const INSTANCES: &str = "instances";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v2/resource_groups", get(list_groups).post(create_group))
        .route("/v2/resource_groups/{id}", get(get_group).patch(update_group).delete(delete_group))
}

pub fn group_crn(account_id: &str, id: &str) -> String {
    format!("crn:v1:bluemix:public:resource-controller::a/{account_id}::resource-group:{id}")
}

fn new_group(account_id: &str, id: &str, name: &str, default: bool, now_ms: u64) -> Value {
    let now = iso_timestamp(now_ms);
    json!({
        "id": id,
        "crn": group_crn(account_id, id),
        "account_id": account_id,
        "name": name,
        "state": "ACTIVE",
        "default": default,
        "enable_reclamation": false,
        "quota_id": "a3d7b8d01e261c24677937c29ab33f3c",
        "quota_url": "/v2/quota_definitions/a3d7b8d01e261c24677937c29ab33f3c",
        "payment_methods_url": format!("/v2/resource_groups/{id}/payment_methods"),
        "resource_linkages": [],
        "teams_url": format!("/v2/resource_groups/{id}/teams"),
        "created_at": now,
        "updated_at": now,
    })
}

/// Gives the emulator's account its `Default` group unless it already has one (state file).
pub fn seed_default_group(state: &AppState) {
    let account_id = state.account_id().to_string();
    state.with_objects(|tx| {
        let has_default = tx.iter_all(KIND).any(|(_, r)| r.value["default"] == true && r.value["account_id"] == *account_id);
        if has_default {
            return;
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        // Visible at once, whatever the lag: it existed long before any client came.
        let record = Record {
            value: new_group(&account_id, &id, "Default", true, tx.now_ms()),
            revision: 1,
            etag: new_etag(1),
            created_at_ms: tx.now_ms(),
            visible_at_ms: 0,
        };
        tx.put_record(KIND, &id, record);
    });
}

fn group_not_found(id: &str) -> ApiError {
    ApiError::not_found("not_found", format!("Resource group '{id}' not found."))
}

fn name_taken(name: &str, account_id: &str) -> ApiError {
    ApiError::platform(
        StatusCode::BAD_REQUEST,
        "RESOURCE_GROUP_NAME_UNIQUENESS",
        format!("Resource group name need to be unique in account {account_id}: '{name}' is already used."),
    )
}

fn valid_name(body: &serde_json::Map<String, Value>) -> Result<Option<String>, ApiError> {
    match body.get("name") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(name)) if !name.trim().is_empty() && name.chars().count() <= 40 => Ok(Some(name.clone())),
        Some(_) => Err(ApiError::invalid_body("The field 'name' must be a non-empty string of at most 40 characters.")),
    }
}

fn name_in_use(tx: &Txn<'_>, account_id: &str, name: &str, except: Option<&str>) -> bool {
    tx.iter_all(KIND).any(|(id, r)| Some(id.as_str()) != except && r.value["account_id"] == *account_id && r.value["name"] == *name)
}

async fn list_groups(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<HashMap<String, String>>,
) -> Json<Value> {
    let account_id = query.get("account_id").filter(|a| !a.is_empty()).cloned().unwrap_or(caller.account_id);
    let name = query.get("name").filter(|n| !n.is_empty());
    let default = query.get("default").map(|d| d == "true");
    let resources: Vec<Value> = state.with_objects(|tx| {
        let mut groups: Vec<Value> = tx
            .iter_visible(KIND)
            .map(|(_, r)| r.value.clone())
            .filter(|g| g["account_id"] == *account_id)
            .filter(|g| name.is_none_or(|n| g["name"] == **n))
            .filter(|g| default.is_none_or(|d| g["default"] == d))
            .collect();
        groups.sort_by(|a, b| a["created_at"].as_str().cmp(&b["created_at"].as_str()));
        groups
    });
    Json(json!({ "resources": resources }))
}

async fn create_group(State(state): State<AppState>, Extension(caller): Extension<Caller>, body: Bytes) -> Result<Response, ApiError> {
    let body = parse_json_object(&body)?;
    let name = valid_name(&body)?.ok_or_else(|| ApiError::invalid_body("The field 'name' is required."))?;
    let account_id = match body.get("account_id") {
        Some(Value::String(a)) if !a.is_empty() => a.clone(),
        _ => caller.account_id.clone(),
    };
    if account_id != caller.account_id {
        return Err(ApiError::platform(
            StatusCode::FORBIDDEN,
            "insufficent_permissions",
            format!("You cannot create resource groups in account '{account_id}'."),
        ));
    }
    let created = state.with_objects(|tx| {
        if name_in_use(tx, &account_id, &name, None) {
            return Err(name_taken(&name, &account_id));
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let group = new_group(&account_id, &id, &name, false, tx.now_ms());
        Ok(tx.create(KIND, &id, group))
    })?;
    // Like IBM, the answer holds only the id and the CRN.
    Ok((StatusCode::CREATED, Json(json!({"id": created.value["id"], "crn": created.value["crn"]}))).into_response())
}

async fn get_group(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    state.with_objects(|tx| tx.get_visible(KIND, &id).map(|r| r.value.clone())).map(Json).ok_or_else(|| group_not_found(&id))
}

async fn update_group(State(state): State<AppState>, Path(id): Path<String>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let body = parse_json_object(&body)?;
    let name = valid_name(&body)?;
    let new_state = match body.get("state") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(ApiError::invalid_body("The field 'state' must be a string.")),
    };
    state.with_objects(|tx| {
        let mut group = tx.get_visible(KIND, &id).ok_or_else(|| group_not_found(&id))?.value.clone();
        let account_id = group["account_id"].as_str().unwrap_or_default().to_string();
        if let Some(name) = &name {
            if name_in_use(tx, &account_id, name, Some(&id)) {
                return Err(name_taken(name, &account_id));
            }
            group["name"] = json!(name);
        }
        if let Some(s) = new_state {
            group["state"] = json!(s);
        }
        group["updated_at"] = json!(iso_timestamp(tx.now_ms()));
        tx.update(KIND, &id, group.clone()).ok_or_else(|| group_not_found(&id))?;
        Ok(Json(group))
    })
}

async fn delete_group(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    state.with_objects(|tx| {
        // A reclaim that has finished by now has removed its instance from the group.
        finish_reclaiming(tx);
        let group = tx.get_visible(KIND, &id).ok_or_else(|| group_not_found(&id))?;
        if group.value["default"] == true {
            return Err(ApiError::platform(
                StatusCode::BAD_REQUEST,
                "RESOURCE_GROUP_DEFAULT_DELETE",
                "The default resource group cannot be deleted.",
            ));
        }
        let held: Vec<String> = tx
            .iter_all(INSTANCES)
            .filter(|(_, r)| r.value["resource_group_id"] == *id && r.value["state"] != "removed")
            .map(|(_, r)| format!("{} ({})", r.value["crn"].as_str().unwrap_or_default(), r.value["state"].as_str().unwrap_or_default()))
            .collect();
        if !held.is_empty() {
            return Err(ApiError::platform(
                StatusCode::BAD_REQUEST,
                "RESOURCE_GROUP_NOT_EMPTY",
                format!("Resource group '{id}' cannot be deleted: it still holds {}.", held.join(", ")),
            ));
        }
        tx.remove(KIND, &id);
        Ok(StatusCode::NO_CONTENT)
    })
}
