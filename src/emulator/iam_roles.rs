//! IAM Policy Management — roles (`/v2/roles`).
//!
//! Built-in system and service roles are fixed data for the `quantum-computing` service; custom
//! roles are stored objects of kind [`KIND`], holding the full CustomRole JSON as returned.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use regex::Regex;
use serde_json::{json, Map, Value};

use super::errors::{parse_json_object, ApiError};
use super::iam_token::Caller;
use super::state::{etag_matches, iso_timestamp, AppState, Record};

/// Object kind of custom roles in the store (and in the admin API).
pub const KIND: &str = "roles";
pub const QUANTUM_SERVICE: &str = "quantum-computing";

const READER_ACTIONS: &[&str] = &[
    "device.read",
    "job.read",
    "session.read",
    "instance.read",
    "instance-usage.read",
    "instance.configuration.read",
    "workload.list",
    "program.read",
];
const WRITER_EXTRA_ACTIONS: &[&str] =
    &["job.create", "job.cancel", "session.create", "session.update", "program.create", "program.update", "program.delete", "user.logout"];
const MANAGER_EXTRA_ACTIONS: &[&str] =
    &["job.delete", "account-analytics-usage.read", "account-analytics-filters.read", "account-configuration.read"];

static ROLE_NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new("^[A-Z][A-Za-z0-9]{0,29}$").expect("static regex"));

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v2/roles", get(list_roles).post(create_role))
        .route("/v2/roles/{id}", get(get_role).put(replace_role).delete(delete_role))
}

fn quantum_actions(groups: &[&[&str]]) -> Vec<String> {
    groups.iter().flat_map(|group| group.iter()).map(|action| format!("{QUANTUM_SERVICE}.{action}")).collect()
}

/// All actions a custom role of `service_name` may contain; `None` for an unknown service.
pub fn service_actions(service_name: &str) -> Option<BTreeSet<String>> {
    (service_name == QUANTUM_SERVICE)
        .then(|| quantum_actions(&[READER_ACTIONS, WRITER_EXTRA_ACTIONS, MANAGER_EXTRA_ACTIONS]).into_iter().collect())
}

fn builtin_role(name: &str, crn_type: &str, description: &str, actions: Vec<String>) -> Value {
    json!({
        "display_name": name,
        "description": description,
        "actions": actions,
        "crn": format!("crn:v1:bluemix:public:iam::::{crn_type}:{name}"),
    })
}

pub fn system_roles() -> Vec<Value> {
    [
        ("Viewer", "As a viewer, you can view service instances, but you can't modify them."),
        ("Operator", "As an operator, you can perform platform actions required to configure and operate service instances."),
        ("Editor", "As an editor, you can perform all platform actions except for managing the account and assigning access policies."),
        ("Administrator", "As an administrator, you can perform all platform actions based on the resource this role is being assigned, including assigning access policies to other users."),
    ]
    .into_iter()
    .map(|(name, description)| builtin_role(name, "role", description, Vec::new()))
    .collect()
}

pub fn quantum_service_roles() -> Vec<Value> {
    vec![
        builtin_role(
            "Reader",
            "serviceRole",
            "As a reader, you can view jobs, sessions, devices and instance usage.",
            quantum_actions(&[READER_ACTIONS]),
        ),
        builtin_role(
            "Writer",
            "serviceRole",
            "As a writer, you can additionally create, cancel and update jobs and sessions.",
            quantum_actions(&[READER_ACTIONS, WRITER_EXTRA_ACTIONS]),
        ),
        builtin_role(
            "Manager",
            "serviceRole",
            "As a manager, you can additionally delete jobs and read account analytics and configuration.",
            quantum_actions(&[READER_ACTIONS, WRITER_EXTRA_ACTIONS, MANAGER_EXTRA_ACTIONS]),
        ),
    ]
}

/// The role as returned to clients. `href` is derived from the current base URL, because a
/// restarted emulator (state file) may listen on another port.
fn presented(role: &Value, base_url: &str) -> Value {
    let mut role = role.clone();
    if let Some(id) = role["id"].as_str() {
        role["href"] = Value::String(format!("{base_url}/v2/roles/{id}"));
    }
    role
}

fn role_response(state: &AppState, status: StatusCode, record: &Record) -> Response {
    let role = presented(&record.value, state.base_url());
    (status, [(header::ETAG, record.etag_header())], Json(role)).into_response()
}

fn role_not_found(id: &str) -> ApiError {
    ApiError::not_found("role_not_found", format!("Role with id '{id}' not found."))
}

async fn list_roles(State(state): State<AppState>, Query(query): Query<HashMap<String, String>>) -> Response {
    let account_filter = query.get("account_id").filter(|v| !v.is_empty());
    let service_filter = query.get("service_name").filter(|v| !v.is_empty());
    let custom_roles: Vec<Value> = state.with_objects(|tx| {
        tx.iter_visible(KIND)
            .map(|(_, record)| &record.value)
            .filter(|role| account_filter.is_none_or(|account| role["account_id"] == **account))
            .filter(|role| service_filter.is_none_or(|service| role["service_name"] == **service))
            .map(|role| presented(role, state.base_url()))
            .collect()
    });
    let quantum = service_filter.is_some_and(|service| service == QUANTUM_SERVICE);
    let (service_roles, system_roles) = if quantum { (quantum_service_roles(), system_roles()) } else { (Vec::new(), Vec::new()) };
    Json(json!({
        "custom_roles": custom_roles,
        "service_roles": service_roles,
        "system_roles": system_roles,
    }))
    .into_response()
}

fn required_string(body: &Map<String, Value>, field: &str) -> Result<String, ApiError> {
    match body.get(field) {
        Some(Value::String(value)) if !value.trim().is_empty() => Ok(value.clone()),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(ApiError::invalid_body(format!("The field '{field}' is required and must not be empty.")))
        }
        Some(_) => Err(ApiError::invalid_body(format!("The field '{field}' must be a string."))),
    }
}

fn optional_description(body: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    match body.get("description") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.chars().count() <= 250 => Ok(Some(text.clone())),
        Some(Value::String(_)) => Err(ApiError::invalid_body("The field 'description' must be at most 250 characters.")),
        Some(_) => Err(ApiError::invalid_body("The field 'description' must be a string.")),
    }
}

fn display_name(body: &Map<String, Value>) -> Result<String, ApiError> {
    let display_name = required_string(body, "display_name")?;
    if display_name.chars().count() > 50 {
        return Err(ApiError::invalid_body("The field 'display_name' must be at most 50 characters."));
    }
    Ok(display_name)
}

/// Non-empty list of actions, each defined by `service_name`.
fn valid_actions(body: &Map<String, Value>, service_name: &str) -> Result<Vec<String>, ApiError> {
    let Some(Value::Array(items)) = body.get("actions") else {
        return Err(ApiError::invalid_body("The field 'actions' is required and must be a list of strings."));
    };
    if items.is_empty() {
        return Err(ApiError::invalid_body("The field 'actions' must contain at least one action."));
    }
    let known = service_actions(service_name).unwrap_or_default();
    let mut actions = Vec::with_capacity(items.len());
    for item in items {
        let Value::String(action) = item else {
            return Err(ApiError::invalid_body("The field 'actions' must be a list of strings."));
        };
        if !known.contains(action) {
            return Err(ApiError::invalid_body(format!("The action '{action}' is not a valid action for service '{service_name}'.")));
        }
        actions.push(action.clone());
    }
    Ok(actions)
}

async fn create_role(State(state): State<AppState>, Extension(caller): Extension<Caller>, body: Bytes) -> Result<Response, ApiError> {
    let body = parse_json_object(&body)?;
    let display_name = display_name(&body)?;
    let name = required_string(&body, "name")?;
    let account_id = required_string(&body, "account_id")?;
    let service_name = required_string(&body, "service_name")?;
    let description = optional_description(&body)?;
    if !ROLE_NAME.is_match(&name) {
        return Err(ApiError::invalid_body(format!(
            "The role name '{name}' is invalid: it must start with a capital letter, contain only letters and digits, and be at most 30 characters long."
        )));
    }
    if service_actions(&service_name).is_none() {
        return Err(ApiError::invalid_body(format!("The service '{service_name}' does not support custom roles.")));
    }
    let actions = valid_actions(&body, &service_name)?;
    if account_id != caller.account_id {
        return Err(ApiError::platform(
            StatusCode::FORBIDDEN,
            "insufficent_permissions",
            format!("You are not allowed to create roles in account '{account_id}'."),
        ));
    }

    let created = state.with_objects(|tx| {
        // Uniqueness is checked against every stored role, visible or not: the primary knows them all.
        let conflict = tx.iter_all(KIND).find(|(_, record)| record.value["account_id"] == *account_id && record.value["name"] == *name);
        if let Some((_, existing)) = conflict {
            return Err(ApiError::platform(
                StatusCode::CONFLICT,
                "role_conflict_error",
                "This role name has already been used, please update the existing one or change the role name.",
            )
            .with_details(json!({"conflicts_with": {
                "etag": existing.etag,
                "role": presented(&existing.value, state.base_url()),
            }})));
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let now = iso_timestamp(tx.now_ms());
        let mut role = json!({
            "id": id,
            "name": name,
            "display_name": display_name,
            "actions": actions,
            "crn": format!("crn:v1:ibmcloud:public:iam-access-management::a/{account_id}::customRole:{name}"),
            "account_id": account_id,
            "service_name": service_name,
            "created_at": now,
            "created_by_id": caller.iam_id,
            "last_modified_at": now,
            "last_modified_by_id": caller.iam_id,
            "href": format!("{}/v2/roles/{id}", state.base_url()),
        });
        if let Some(description) = description {
            role["description"] = Value::String(description);
        }
        Ok(tx.create(KIND, &id, role))
    })?;
    Ok(role_response(&state, StatusCode::CREATED, &created))
}

async fn get_role(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let record = state.with_objects(|tx| tx.get_visible(KIND, &id).cloned()).ok_or_else(|| role_not_found(&id))?;
    Ok(role_response(&state, StatusCode::OK, &record))
}

async fn replace_role(
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
            "The If-Match header is required to update a role.",
        ));
    };
    let body = parse_json_object(&body)?;
    let display_name = display_name(&body)?;
    let description = optional_description(&body)?;

    let updated = state.with_objects(|tx| {
        let current = tx.get_visible(KIND, &id).ok_or_else(|| role_not_found(&id))?;
        if !etag_matches(&if_match, &current.etag) {
            return Err(ApiError::platform(
                StatusCode::PRECONDITION_FAILED,
                "precondition_failed",
                "The If-Match header does not match the current ETag of the role.",
            ));
        }
        let mut role = current.value.clone();
        for immutable in ["name", "account_id", "service_name"] {
            if let Some(sent) = body.get(immutable) {
                if *sent != role[immutable] {
                    return Err(ApiError::invalid_body(format!("The field '{immutable}' cannot be changed.")));
                }
            }
        }
        let service_name = role["service_name"].as_str().unwrap_or_default().to_string();
        let actions = valid_actions(&body, &service_name)?;
        role["display_name"] = Value::String(display_name);
        role["actions"] = json!(actions);
        match description {
            Some(text) => role["description"] = Value::String(text),
            None => {
                if let Some(fields) = role.as_object_mut() {
                    fields.remove("description");
                }
            }
        }
        role["last_modified_at"] = Value::String(iso_timestamp(tx.now_ms()));
        role["last_modified_by_id"] = Value::String(caller.iam_id.clone());
        tx.update(KIND, &id, role).ok_or_else(|| role_not_found(&id))
    })?;
    Ok(role_response(&state, StatusCode::OK, &updated))
}

async fn delete_role(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    state.with_objects(|tx| {
        if tx.get_visible(KIND, &id).is_none() {
            return Err(role_not_found(&id));
        }
        tx.remove(KIND, &id);
        Ok(())
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_hierarchy_is_cumulative() {
        let roles = quantum_service_roles();
        let actions = |i: usize| roles[i]["actions"].as_array().unwrap().len();
        assert_eq!(actions(0), 8);
        assert_eq!(actions(1), 16);
        assert_eq!(actions(2), 20);
        assert_eq!(roles[2]["crn"], "crn:v1:bluemix:public:iam::::serviceRole:Manager");
        assert!(roles[0]["actions"].as_array().unwrap().contains(&json!("quantum-computing.job.read")));
        assert_eq!(system_roles()[0]["crn"], "crn:v1:bluemix:public:iam::::role:Viewer");
    }

    #[test]
    fn role_name_rule() {
        assert!(ROLE_NAME.is_match("QuantumUser1"));
        assert!(!ROLE_NAME.is_match("quantumUser"));
        assert!(!ROLE_NAME.is_match("Quantum-User"));
        assert!(!ROLE_NAME.is_match(&format!("A{}", "b".repeat(30))));
    }
}
