//! Global Tagging — user tags (`/v3/tags`), kind [`KIND`]: id = resource CRN, value
//! `{"crn", "tags": [lowercase names]}`. Only `tag_type=user` holds tags here; `access` and
//! `service` lists are empty and attaching them is refused. Attach and detach answer 200 with a
//! per-resource `is_error`; a CRN that names no live instance or group is such an item error.

use std::collections::{BTreeSet, HashMap};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::errors::{parse_json_object, ApiError};
use super::state::{AppState, Txn};

pub const KIND: &str = "tags";
const MAX_PER_CALL: usize = 100;

pub fn routes() -> Router<AppState> {
    Router::new().route("/v3/tags", get(list_tags)).route("/v3/tags/attach", post(attach)).route("/v3/tags/detach", post(detach))
}

fn valid_tag(name: &str) -> bool {
    (1..=128).contains(&name.chars().count()) && name.chars().all(|c| c.is_ascii_alphanumeric() || " _-.:".contains(c))
}

fn tags_of(tx: &Txn<'_>, crn: &str) -> BTreeSet<String> {
    tx.get(KIND, crn)
        .and_then(|r| r.value["tags"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// True when `crn` names a live instance or a resource group the emulator knows.
fn resource_exists(tx: &Txn<'_>, crn: &str) -> bool {
    let live_instance = tx.iter_visible("instances").any(|(_, r)| r.value["crn"] == *crn && r.value["state"] != "removed");
    live_instance || tx.iter_visible("resource_groups").any(|(_, r)| r.value["crn"] == *crn)
}

async fn list_tags(State(state): State<AppState>, Query(query): Query<HashMap<String, String>>) -> Result<Json<Value>, ApiError> {
    let offset: usize = match query.get("offset") {
        None => 0,
        Some(o) => o.parse().map_err(|_| ApiError::invalid_body("'offset' must be a non-negative integer."))?,
    };
    let limit: usize = match query.get("limit") {
        None => 100,
        Some(l) => l
            .parse()
            .ok()
            .filter(|l| (1..=1000).contains(l))
            .ok_or_else(|| ApiError::invalid_body("'limit' must be between 1 and 1000."))?,
    };
    let user = query.get("tag_type").is_none_or(|t| t == "user");
    let names: Vec<String> = if !user {
        Vec::new()
    } else {
        state.with_objects(|tx| match query.get("attached_to") {
            Some(crn) => tags_of(tx, crn).into_iter().collect(),
            None => tx.iter_visible(KIND).flat_map(|(crn, _)| tags_of(tx, crn)).collect::<BTreeSet<_>>().into_iter().collect(),
        })
    };
    let mut names = names;
    if query.get("order_by_name").is_some_and(|o| o == "desc") {
        names.reverse();
    }
    let items: Vec<Value> = names.iter().skip(offset).take(limit).map(|n| json!({"name": n})).collect();
    Ok(Json(json!({"total_count": names.len(), "offset": offset, "limit": limit, "items": items})))
}

/// Tag names and resource CRNs of an attach or detach body.
fn parse_call(body: &Bytes, query: &HashMap<String, String>) -> Result<(Vec<String>, Vec<String>), ApiError> {
    if query.get("tag_type").is_some_and(|t| t != "user") {
        return Err(ApiError::invalid_body("The emulator only supports tag_type=user."));
    }
    let body = parse_json_object(body)?;
    let mut names: Vec<String> = match (body.get("tag_names"), body.get("tag_name")) {
        (Some(Value::Array(items)), _) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        (None, Some(Value::String(one))) => vec![one.clone()],
        _ => return Err(ApiError::invalid_body("Give 'tag_names' (a list of strings) or 'tag_name'.")),
    };
    if names.is_empty() || names.len() > MAX_PER_CALL {
        return Err(ApiError::invalid_body(format!("Give between 1 and {MAX_PER_CALL} tag names.")));
    }
    if let Some(bad) = names.iter().find(|n| !valid_tag(n)) {
        return Err(ApiError::invalid_body(format!(
            "The tag name '{bad}' is invalid: 1-128 characters, letters, digits, spaces and _ - . : only."
        )));
    }
    // Tags are not case-sensitive: IBM stores them lowercase.
    for name in &mut names {
        *name = name.to_lowercase();
    }
    let resources: Vec<String> = match body.get("resources") {
        Some(Value::Array(items)) => items.iter().filter_map(|r| r["resource_id"].as_str()).map(str::to_owned).collect(),
        _ => return Err(ApiError::invalid_body("The field 'resources' (a list of {\"resource_id\": CRN}) is required.")),
    };
    if resources.is_empty() || resources.len() > MAX_PER_CALL {
        return Err(ApiError::invalid_body(format!("Give between 1 and {MAX_PER_CALL} resources.")));
    }
    Ok((names, resources))
}

fn change(state: &AppState, body: &Bytes, query: &HashMap<String, String>, attach: bool) -> Result<Json<Value>, ApiError> {
    let (names, resources) = parse_call(body, query)?;
    let replace = attach && query.get("replace").is_some_and(|r| r == "true");
    let results: Vec<Value> = state.with_objects(|tx| {
        resources
            .iter()
            .map(|crn| {
                if !resource_exists(tx, crn) {
                    return json!({"resource_id": crn, "is_error": true, "message": format!("The resource {crn} was not found.")});
                }
                let mut tags = if replace { BTreeSet::new() } else { tags_of(tx, crn) };
                for name in &names {
                    if attach {
                        tags.insert(name.clone());
                    } else {
                        tags.remove(name);
                    }
                }
                let value = json!({"crn": crn, "tags": tags});
                match (tags.is_empty(), tx.get(KIND, crn).is_some()) {
                    (true, true) => {
                        tx.remove(KIND, crn);
                    }
                    (true, false) => {}
                    (false, true) => {
                        tx.update(KIND, crn, value);
                    }
                    (false, false) => {
                        tx.create(KIND, crn, value);
                    }
                }
                json!({"resource_id": crn, "is_error": false})
            })
            .collect()
    });
    Ok(Json(json!({ "results": results })))
}

async fn attach(State(state): State<AppState>, Query(query): Query<HashMap<String, String>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    change(&state, &body, &query, true)
}

async fn detach(State(state): State<AppState>, Query(query): Query<HashMap<String, String>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    change(&state, &body, &query, false)
}
