//! Resource Controller — resource instances (`/v2/resource_instances`, kind [`KIND`], id = GUID,
//! value = the instance JSON with `id` == `crn`) and reclamations (`/v1/reclamations`, kind
//! [`RECLAMATIONS`]). Qiskit Runtime (`quantum-computing`) and App ID (`appid`) instances can be
//! created; the plan ID says which service an instance belongs to.
//!
//! Choices where IBM's behaviour is uncertain (documented in docs/emulator.md):
//! * create answers 201 with an `active` instance; while a consistency lag L > 0 is set it
//!   answers 202 with a `provisioning` instance that turns `active` 2·L after creation;
//! * delete moves an instance to `pending_reclamation` (with a `SCHEDULED` reclamation, which
//!   waits out its retention period) rather than straight to `removed`; `reclaim` makes the
//!   reclamation `RECLAIMING` for `--reclaim-ms` (IBM at work), after which the instance is
//!   `removed` and the reclamation gone; `restore` makes the instance `active` again at once;
//! * reclaiming or restoring a reclamation that is already `RECLAIMING` answers 409 (IBM's answer
//!   is not documented);
//! * a PATCH whose `parameters` equal those of the previous PATCH is dropped as a duplicate
//!   (IBM's de-duplication), which a changing `timestamp` parameter avoids.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Map, Value};

use super::errors::{new_trace_id, parse_json_object, ApiError};
// Plans come from the emulated Global Catalog, the one place their names and ids are kept.
use super::appid;
use super::global_catalog::{quantum_plan_name as plan_name, QUANTUM_SERVICE_ID};
use super::iam_token::Caller;
use super::state::{iso_timestamp, AppState, Txn};

pub const KIND: &str = "instances";
pub const RECLAMATIONS: &str = "reclamations";
const GROUPS: &str = "resource_groups";
const TAGS: &str = "tags";
const RECLAMATION_PERIOD_MS: u64 = 7 * 24 * 3600 * 1000;
/// When a `RECLAIMING` reclamation's instance is removed (epoch ms); private to the emulator.
const RECLAIMED_AT: &str = "_emulator_reclaimed_at_ms";
const DEFAULT_PAGE: usize = 100;
/// Fields the emulator keeps in stored values for itself; never shown to clients.
const PRIVATE_PREFIX: &str = "_emulator_";
const QUANTUM_REGIONS: [&str; 2] = ["us-east", "eu-de"];
const QUANTUM_SERVICE: &str = "quantum-computing";

/// What an instance's plan says about its service.
struct Service {
    name: &'static str,
    resource_id: &'static str,
    plan: &'static str,
    regions: &'static [&'static str],
    dashboard: &'static str,
}

fn service_of_plan(plan_id: &str) -> Option<Service> {
    if let Some(plan) = plan_name(plan_id) {
        return Some(Service {
            name: QUANTUM_SERVICE,
            resource_id: QUANTUM_SERVICE_ID,
            plan,
            regions: &QUANTUM_REGIONS,
            dashboard: "https://quantum.cloud.ibm.com/",
        });
    }
    let plan = appid::plan_name(plan_id)?;
    Some(Service {
        name: appid::SERVICE_NAME,
        resource_id: appid::SERVICE_ID,
        plan,
        regions: &appid::REGIONS,
        dashboard: "https://cloud.ibm.com/services/appid",
    })
}

fn is_pay_as_you_go(plan_id: &str) -> bool {
    matches!(plan_name(plan_id), Some("pay-as-you-go" | "paygo-standard"))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v2/resource_instances", get(list_instances).post(create_instance))
        .route("/v2/resource_instances/{id}", get(get_instance).patch(update_instance).delete(delete_instance))
        .route("/v1/reclamations", get(list_reclamations))
        .route("/v1/reclamations/{id}/actions/{action}", post(reclamation_action))
}

/// Resource Controller error body: `{"error_code","message","status_code","transaction_id"}`.
fn rc_error(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
    let body = json!({
        "error_code": code,
        "message": message.into(),
        "status_code": status.as_u16(),
        "transaction_id": format!("bss-{}", new_trace_id()),
    });
    ApiError { status, body, headers: Vec::new() }
}

fn bad_request(message: impl Into<String>) -> ApiError {
    rc_error(StatusCode::BAD_REQUEST, "RC-BadRequest", message)
}

/// A refusal by the service broker, wrapped by RC as IBM does.
fn broker_refusal(message: impl Into<String>) -> ApiError {
    rc_error(StatusCode::BAD_REQUEST, "RC-ServiceBrokerErrorResponse", message)
}

fn instance_not_found(id: &str) -> ApiError {
    rc_error(StatusCode::NOT_FOUND, "RC-ResourceInstanceNotFound", format!("Resource instance '{id}' not found."))
}

/// The instance as clients see it.
fn presented(value: &Value) -> Value {
    let mut value = value.clone();
    if let Some(fields) = value.as_object_mut() {
        fields.retain(|k, _| !k.starts_with(PRIVATE_PREFIX));
    }
    value
}

/// Turns provisioning instances whose time has come `active`.
fn finish_provisioning(tx: &mut Txn<'_>) {
    let now = tx.now_ms();
    let due: Vec<(String, Value)> = tx
        .iter_all(KIND)
        .filter(|(_, r)| r.value["state"] == "provisioning" && r.value["_emulator_active_at_ms"].as_u64().is_some_and(|t| t <= now))
        .map(|(id, r)| (id.clone(), r.value.clone()))
        .collect();
    for (id, mut value) in due {
        value["state"] = json!("active");
        value["last_operation"] = last_operation("create", "succeeded", "Completed create instance operation");
        if let Some(fields) = value.as_object_mut() {
            fields.remove("_emulator_active_at_ms");
        }
        tx.update(KIND, &id, value);
    }
}

fn last_operation(kind: &str, state: &str, description: &str) -> Value {
    json!({"type": kind, "state": state, "async": state == "in progress", "description": description, "cancelable": false, "poll": false})
}

/// Completes the reclaims whose time has come: the instance is `removed` (its tags go with it)
/// and the reclamation is dropped. Called by every request that could observe either, so that
/// no background task is needed.
pub fn finish_reclaiming(tx: &mut Txn<'_>) {
    let now = tx.now_ms();
    let due: Vec<(String, String, String)> = tx
        .iter_all(RECLAMATIONS)
        .filter(|(_, r)| r.value[RECLAIMED_AT].as_u64().is_some_and(|t| t <= now))
        .map(|(id, r)| {
            let field = |f: &str| r.value[f].as_str().unwrap_or_default().to_string();
            (id.clone(), field("resource_instance_id"), field("updated_by"))
        })
        .collect();
    for (id, guid, by) in due {
        purge(tx, &guid, &by);
        tx.remove(RECLAMATIONS, &id);
    }
}

/// Brings the store up to date with the time: provisioning and reclaiming that have finished.
fn catch_up(tx: &mut Txn<'_>) {
    finish_provisioning(tx);
    finish_reclaiming(tx);
}

/// GUID or CRN → the GUID the record is stored under (visible records only).
fn find_instance(tx: &Txn<'_>, id: &str) -> Option<String> {
    if tx.get_visible(KIND, id).is_some() {
        return Some(id.to_string());
    }
    tx.iter_visible(KIND).find(|(_, r)| r.value["crn"] == *id).map(|(guid, _)| guid.clone())
}

/// A non-negative integer parameter, sent as a digit string (or a number); null clears it.
fn integer_parameter(parameters: &Map<String, Value>, key: &str) -> Result<Option<Option<u64>>, ApiError> {
    match parameters.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().map(|n| Some(Some(n))).map_err(|_| broker_refusal(format!("Parameter '{key}' is too large.")))
        }
        Some(Value::Number(n)) if n.as_u64().is_some() => Ok(Some(n.as_u64())),
        Some(_) => Err(broker_refusal(format!("Parameter '{key}' must be a string of digits (seconds) or null."))),
    }
}

/// Checks `parameters` and folds them into `extensions` (what the service applies).
fn apply_parameters(plan_id: &str, parameters: &Map<String, Value>, extensions: &mut Value) -> Result<(), ApiError> {
    if !extensions.is_object() {
        *extensions = json!({});
    }
    if let Some(limit) = integer_parameter(parameters, "instance_limit_seconds")? {
        extensions["instance_limit_seconds"] = json!(limit);
    }
    if let Some(allocation) = integer_parameter(parameters, "usage_allocation_seconds")? {
        if is_pay_as_you_go(plan_id) && allocation.is_some() {
            return Err(broker_refusal("Parameter 'usage_allocation_seconds' does not apply to the Pay-As-You-Go plan."));
        }
        extensions["usage_allocation_seconds"] = json!(allocation);
    }
    match parameters.get("backends") {
        None => {}
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => extensions["backends"] = Value::Array(items.clone()),
        Some(_) => return Err(broker_refusal("Parameter 'backends' must be a list of backend names, or [\"ANY\"].")),
    }
    Ok(())
}

fn required<'a>(body: &'a Map<String, Value>, field: &str) -> Result<&'a str, ApiError> {
    match body.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        _ => Err(bad_request(format!("The field '{field}' is required and must be a non-empty string."))),
    }
}

fn valid_instance_name(name: &str) -> Result<(), ApiError> {
    let ok = name.chars().count() <= 180 && name.chars().all(|c| c.is_ascii_alphanumeric() || " -._:".contains(c));
    if ok {
        Ok(())
    } else {
        Err(bad_request("The field 'name' must be at most 180 characters: letters, digits, spaces and - . _ : only."))
    }
}

async fn create_instance(State(state): State<AppState>, Extension(caller): Extension<Caller>, body: Bytes) -> Result<Response, ApiError> {
    let body = parse_json_object(&body).map_err(|_| bad_request("The request body must be a JSON object."))?;
    let name = required(&body, "name")?.to_string();
    valid_instance_name(&name)?;
    let target = required(&body, "target")?;
    let plan_id = required(&body, "resource_plan_id")?.to_string();
    let service = service_of_plan(&plan_id)
        .ok_or_else(|| bad_request(format!("Plan '{plan_id}' is not a plan of a service the emulator offers.")))?;
    // A plain region, or a catalog deployment CRN ending in `:<region>::`.
    let region = service
        .regions
        .iter()
        .find(|r| target == **r || target.ends_with(&format!(":{r}::")))
        .ok_or_else(|| {
            bad_request(format!("Target '{target}' is not a location of {}; use one of {}.", service.name, service.regions.join(", ")))
        })?
        .to_string();
    let group_id = required(&body, "resource_group")?.to_string();
    let plan = service.plan;
    if plan == "open" && region != "us-east" {
        return Err(broker_refusal(format!("The Open plan is only available in us-east, not in {region}.")));
    }
    let parameters = match body.get("parameters") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p.clone(),
        Some(_) => return Err(bad_request("The field 'parameters' must be an object.")),
    };
    let extensions = if service.name == QUANTUM_SERVICE {
        let mut extensions = json!({"backends": ["ANY"], "instance_limit_seconds": if plan == "open" { json!(600) } else { Value::Null }});
        apply_parameters(&plan_id, &parameters, &mut extensions)?;
        extensions
    } else {
        json!({})
    };
    let lag_ms = state.runtime().lag_ms;

    let created = state.with_objects(|tx| {
        let group = tx
            .get_visible(GROUPS, &group_id)
            .filter(|g| g.value["account_id"] == *caller.account_id)
            .ok_or_else(|| bad_request(format!("Resource group '{group_id}' not found in the account.")))?;
        let group_crn = group.value["crn"].clone();
        let guid = uuid::Uuid::new_v4().to_string();
        let crn = format!("crn:v1:bluemix:public:{}:{region}:a/{}:{guid}::", service.name, caller.account_id);
        let now = iso_timestamp(tx.now_ms());
        let provisioning = lag_ms > 0;
        let mut instance = json!({
            "id": crn, "guid": guid, "crn": crn,
            "url": format!("/v2/resource_instances/{guid}"),
            "name": name, "region_id": region, "account_id": caller.account_id,
            "reseller_channel_id": "", "resource_plan_id": plan_id,
            "resource_group_id": group_id, "resource_group_crn": group_crn,
            "target_crn": format!("crn:v1:bluemix:public:globalcatalog::::deployment:{plan_id}:{region}"),
            "resource_id": service.resource_id, "type": "service_instance", "sub_type": Value::Null,
            "allow_cleanup": false, "locked": false, "migrated": false,
            "state": if provisioning { "provisioning" } else { "active" },
            "parameters": parameters, "extensions": extensions,
            "dashboard_url": service.dashboard,
            "last_operation": if provisioning {
                last_operation("create", "in progress", "Create instance is in progress")
            } else {
                last_operation("create", "succeeded", "Completed create instance operation")
            },
            "plan_history": [{"resource_plan_id": plan_id, "start_date": now, "requestor_id": caller.iam_id}],
            "created_at": now, "updated_at": now, "created_by": caller.iam_id, "updated_by": caller.iam_id,
            "deleted_at": Value::Null, "deleted_by": "", "scheduled_reclaim_at": Value::Null,
            "restored_at": Value::Null, "restored_by": "", "scheduled_reclaim_by": "",
            "resource_keys_url": format!("/v2/resource_instances/{guid}/resource_keys"),
        });
        if provisioning {
            instance["_emulator_active_at_ms"] = json!(tx.now_ms() + 2 * lag_ms);
        }
        Ok::<_, ApiError>(tx.create(KIND, &guid, instance))
    })?;
    let status = if lag_ms > 0 { StatusCode::ACCEPTED } else { StatusCode::CREATED };
    Ok((status, Json(presented(&created.value))).into_response())
}

async fn get_instance(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    state.with_objects(|tx| {
        catch_up(tx);
        let guid = find_instance(tx, &id).ok_or_else(|| instance_not_found(&id))?;
        let record = tx.get(KIND, &guid).ok_or_else(|| instance_not_found(&id))?;
        Ok(Json(presented(&record.value)))
    })
}

async fn list_instances(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let limit = match query.get("limit") {
        None => DEFAULT_PAGE,
        Some(l) => {
            l.parse::<usize>().ok().filter(|l| (1..=100).contains(l)).ok_or_else(|| bad_request("'limit' must be between 1 and 100."))?
        }
    };
    let start: usize = match query.get("start") {
        None => 0,
        Some(s) => s.parse().map_err(|_| bad_request(format!("Invalid 'start' token '{s}'.")))?,
    };
    let filters = ["resource_id", "name", "resource_group_id", "guid", "resource_plan_id", "state"];
    let matching: Vec<Value> = state.with_objects(|tx| {
        catch_up(tx);
        let mut all: Vec<Value> = tx
            .iter_visible(KIND)
            .map(|(_, r)| r.value.clone())
            .filter(|i| i["account_id"] == *caller.account_id)
            .filter(|i| filters.iter().all(|f| query.get(*f).filter(|v| !v.is_empty()).is_none_or(|v| i[*f] == **v)))
            // By default only live instances are listed.
            .filter(|i| query.contains_key("state") || i["state"] == "active" || i["state"] == "provisioning")
            .map(|i| presented(&i))
            .collect();
        all.sort_by(|a, b| (a["created_at"].as_str(), a["guid"].as_str()).cmp(&(b["created_at"].as_str(), b["guid"].as_str())));
        all
    });
    let page: Vec<Value> = matching.iter().skip(start).take(limit).cloned().collect();
    let next_url = if start + page.len() < matching.len() {
        let mut params: Vec<String> =
            filters.iter().filter_map(|f| query.get(*f).map(|v| format!("{f}={}", encode_query_value(v)))).collect();
        params.push(format!("limit={limit}"));
        params.push(format!("start={}", start + page.len()));
        json!(format!("/v2/resource_instances?{}", params.join("&")))
    } else {
        Value::Null
    };
    Ok(Json(json!({"rows_count": page.len(), "next_url": next_url, "resources": page})))
}

/// Percent-encodes a query value for `next_url`.
fn encode_query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// Plans an instance may move to in place. IBM's rules are not documented (UNCERTAIN): the
/// emulator allows any move to a paid plan and none back to `open` or `lite`.
fn plan_change_allowed(to: &str) -> bool {
    matches!(plan_name(to).or(appid::plan_name(to)), Some("pay-as-you-go" | "paygo-standard" | "flex" | "premium" | "graduated-tier"))
}

async fn update_instance(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = parse_json_object(&body).map_err(|_| bad_request("The request body must be a JSON object."))?;
    state.with_objects(|tx| {
        catch_up(tx);
        let guid = find_instance(tx, &id).ok_or_else(|| instance_not_found(&id))?;
        let mut instance = tx.get(KIND, &guid).ok_or_else(|| instance_not_found(&id))?.value.clone();
        if instance["state"] != "active" {
            return Err(rc_error(
                StatusCode::CONFLICT,
                "RC-InstanceNotActive",
                format!("Resource instance '{id}' is {}, not active.", instance["state"].as_str().unwrap_or("?")),
            ));
        }
        if let Some(name) = body.get("name") {
            let name = name
                .as_str()
                .filter(|n| !n.trim().is_empty())
                .ok_or_else(|| bad_request("The field 'name' must be a non-empty string."))?;
            valid_instance_name(name)?;
            instance["name"] = json!(name);
        }
        if let Some(plan) = body.get("resource_plan_id") {
            let plan = plan.as_str().ok_or_else(|| bad_request("The field 'resource_plan_id' must be a string."))?;
            if plan != instance["resource_plan_id"] {
                let current = instance["resource_plan_id"].as_str().unwrap_or_default();
                let same_service = service_of_plan(current).zip(service_of_plan(plan)).is_some_and(|(a, b)| a.name == b.name);
                if !same_service {
                    return Err(bad_request(format!("Plan '{plan}' is not a plan of this instance's service.")));
                }
                if !plan_change_allowed(plan) {
                    let name = plan_name(plan).or(appid::plan_name(plan)).unwrap_or(plan);
                    return Err(broker_refusal(format!("The instance cannot be changed to plan '{name}'.")));
                }
                instance["resource_plan_id"] = json!(plan);
                if let Some(history) = instance["plan_history"].as_array_mut() {
                    history
                        .push(json!({"resource_plan_id": plan, "start_date": iso_timestamp(tx.now_ms()), "requestor_id": caller.iam_id}));
                }
            }
        }
        match body.get("parameters") {
            None | Some(Value::Null) => {}
            Some(Value::Object(parameters)) => {
                let duplicate = instance["_emulator_last_patch_parameters"] == Value::Object(parameters.clone());
                if !duplicate {
                    let plan_id = instance["resource_plan_id"].as_str().unwrap_or_default().to_string();
                    let mut extensions = instance["extensions"].clone();
                    apply_parameters(&plan_id, parameters, &mut extensions)?;
                    instance["extensions"] = extensions;
                    if !instance["parameters"].is_object() {
                        instance["parameters"] = json!({});
                    }
                    if let Some(stored) = instance["parameters"].as_object_mut() {
                        for (k, v) in parameters {
                            stored.insert(k.clone(), v.clone());
                        }
                    }
                    instance["_emulator_last_patch_parameters"] = Value::Object(parameters.clone());
                }
            }
            Some(_) => return Err(bad_request("The field 'parameters' must be an object.")),
        }
        instance["updated_at"] = json!(iso_timestamp(tx.now_ms()));
        instance["updated_by"] = json!(caller.iam_id);
        instance["last_operation"] = last_operation("update", "succeeded", "Completed update instance operation");
        tx.update(KIND, &guid, instance.clone());
        Ok(Json(presented(&instance)))
    })
}

async fn delete_instance(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.with_objects(|tx| {
        catch_up(tx);
        let guid = find_instance(tx, &id).ok_or_else(|| instance_not_found(&id))?;
        let mut instance = tx.get(KIND, &guid).ok_or_else(|| instance_not_found(&id))?.value.clone();
        if instance["state"] == "removed" || instance["state"] == "pending_reclamation" {
            return Err(rc_error(
                StatusCode::GONE,
                "RC-ResourceInstanceGone",
                format!("Resource instance '{id}' has already been deleted."),
            ));
        }
        let now_ms = tx.now_ms();
        let now = iso_timestamp(now_ms);
        instance["state"] = json!("pending_reclamation");
        instance["deleted_at"] = json!(now);
        instance["deleted_by"] = json!(caller.iam_id);
        instance["scheduled_reclaim_at"] = json!(iso_timestamp(now_ms + RECLAMATION_PERIOD_MS));
        instance["scheduled_reclaim_by"] = json!(caller.iam_id);
        instance["last_operation"] = last_operation("delete", "succeeded", "Completed delete instance operation");
        let reclamation_id = uuid::Uuid::new_v4().simple().to_string();
        let reclamation = json!({
            "id": reclamation_id,
            "entity_id": guid, "entity_type_id": "resource-instance", "entity_crn": instance["crn"],
            "resource_instance_id": guid, "resource_group_id": instance["resource_group_id"],
            "account_id": instance["account_id"], "policy_id": "default-reclamation-policy",
            "state": "SCHEDULED", "target_time": iso_timestamp(now_ms + RECLAMATION_PERIOD_MS),
            "custom_properties": {}, "created_at": now, "created_by": caller.iam_id,
            "updated_at": now, "updated_by": caller.iam_id,
        });
        tx.update(KIND, &guid, instance);
        tx.create(RECLAMATIONS, &reclamation_id, reclamation);
        Ok(StatusCode::NO_CONTENT)
    })
}

async fn list_reclamations(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<HashMap<String, String>>,
) -> Json<Value> {
    let resources: Vec<Value> = state.with_objects(|tx| {
        catch_up(tx);
        tx.iter_visible(RECLAMATIONS)
            .map(|(_, r)| r.value.clone())
            .filter(|r| r["account_id"] == *query.get("account_id").unwrap_or(&caller.account_id))
            .filter(|r| ["resource_instance_id", "resource_group_id"].iter().all(|f| query.get(*f).is_none_or(|v| r[*f] == **v)))
            .map(|r| presented(&r))
            .collect()
    });
    Json(json!({ "resources": resources }))
}

/// Marks an instance removed (purged): its tags go with it.
fn purge(tx: &mut Txn<'_>, guid: &str, by: &str) {
    let Some(mut instance) = tx.get(KIND, guid).map(|r| r.value.clone()) else { return };
    instance["state"] = json!("removed");
    instance["updated_at"] = json!(iso_timestamp(tx.now_ms()));
    instance["updated_by"] = json!(by);
    instance["last_operation"] = last_operation("reclamation", "succeeded", "Completed reclaim");
    if let Some(crn) = instance["crn"].as_str() {
        tx.remove(TAGS, crn);
    }
    tx.update(KIND, guid, instance);
}

async fn reclamation_action(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((id, action)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let reclaim_ms = state.settings().reclaim_ms;
    state.with_objects(|tx| {
        catch_up(tx);
        let mut reclamation = tx
            .get_visible(RECLAMATIONS, &id)
            .ok_or_else(|| rc_error(StatusCode::NOT_FOUND, "RC-ReclamationNotFound", format!("Reclamation '{id}' not found.")))?
            .value
            .clone();
        if reclamation["state"] == "RECLAIMING" {
            return Err(rc_error(
                StatusCode::CONFLICT,
                "RC-ReclamationActionConflict",
                format!("Reclamation '{id}' is already being reclaimed."),
            ));
        }
        let guid = reclamation["resource_instance_id"].as_str().unwrap_or_default().to_string();
        reclamation["updated_at"] = json!(iso_timestamp(tx.now_ms()));
        reclamation["updated_by"] = json!(caller.iam_id);
        match action.as_str() {
            "reclaim" => {
                // IBM works on it for a while; finish_reclaiming removes the instance afterwards.
                reclamation["state"] = json!("RECLAIMING");
                reclamation[RECLAIMED_AT] = json!(tx.now_ms() + reclaim_ms);
                tx.update(RECLAMATIONS, &id, reclamation.clone());
                finish_reclaiming(tx);
                return Ok(Json(presented(&reclamation)));
            }
            "restore" => {
                if let Some(mut instance) = tx.get(KIND, &guid).map(|r| r.value.clone()) {
                    instance["state"] = json!("active");
                    instance["restored_at"] = json!(iso_timestamp(tx.now_ms()));
                    instance["restored_by"] = json!(caller.iam_id);
                    instance["deleted_at"] = Value::Null;
                    instance["scheduled_reclaim_at"] = Value::Null;
                    tx.update(KIND, &guid, instance);
                }
                reclamation["state"] = json!("RESTORING");
            }
            other => return Err(bad_request(format!("Unknown reclamation action '{other}'; use reclaim or restore."))),
        }
        tx.remove(RECLAMATIONS, &id);
        Ok(Json(presented(&reclamation)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::global_catalog::QUANTUM_PLANS;

    #[test]
    fn parameters_fold_into_extensions() {
        let payg = QUANTUM_PLANS[1].1;
        let mut ext = json!({"backends": ["ANY"]});
        let params = json!({"instance_limit_seconds": "120", "backends": ["ibm_a"], "timestamp": "t"});
        apply_parameters(payg, params.as_object().unwrap(), &mut ext).unwrap();
        assert_eq!(ext, json!({"backends": ["ibm_a"], "instance_limit_seconds": 120}));
        let alloc = json!({"usage_allocation_seconds": "60"});
        assert!(apply_parameters(payg, alloc.as_object().unwrap(), &mut ext).is_err());
        assert!(apply_parameters(QUANTUM_PLANS[2].1, alloc.as_object().unwrap(), &mut ext).is_ok());
        let bad = json!({"instance_limit_seconds": "-1"});
        assert!(apply_parameters(payg, bad.as_object().unwrap(), &mut ext).is_err());
    }
}

#[cfg(test)]
mod route_tests {
    use reqwest::{Method, StatusCode};
    use serde_json::{json, Value};

    use crate::emulator::global_catalog::QUANTUM_PLANS;
    use crate::emulator::tests::Harness;
    use crate::emulator::EmulatorConfig;

    /// A group holding one deleted (pending reclamation) open instance: the group's ID and the
    /// instance's reclamation as listed.
    async fn group_with_deleted_instance(h: &Harness) -> (String, Value) {
        let (status, group, _) =
            h.call(Method::POST, "/v2/resource_groups", Some(json!({"name": "lab", "account_id": h.account()})), &[]).await;
        assert_eq!(status, StatusCode::CREATED, "{group}");
        let group_id = group["id"].as_str().expect("group id").to_string();
        let new = json!({"name": "qr", "target": "us-east", "resource_group": group_id, "resource_plan_id": QUANTUM_PLANS[0].1});
        let (status, instance, _) = h.call(Method::POST, "/v2/resource_instances", Some(new), &[]).await;
        assert_eq!(status, StatusCode::CREATED, "{instance}");
        let guid = instance["guid"].as_str().expect("guid");
        let (status, _, _) = h.call(Method::DELETE, &format!("/v2/resource_instances/{guid}"), None, &[]).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let reclamations = reclamations_of(h, &group_id).await;
        assert_eq!(reclamations.len(), 1, "{reclamations:?}");
        (group_id, reclamations[0].clone())
    }

    async fn reclamations_of(h: &Harness, group_id: &str) -> Vec<Value> {
        let (status, body, _) = h.call(Method::GET, &format!("/v1/reclamations?resource_group_id={group_id}"), None, &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["resources"].as_array().expect("resources").clone()
    }

    async fn instance_state(h: &Harness, guid: &str) -> Value {
        h.call(Method::GET, &format!("/v2/resource_instances/{guid}"), None, &[]).await.1["state"].clone()
    }

    #[tokio::test]
    async fn a_reclaim_is_reclaiming_for_a_while_and_the_group_waits_for_it() {
        let h = Harness::start(EmulatorConfig { reclaim_ms: 3_600_000, ..EmulatorConfig::default() }).await;
        let (group_id, reclamation) = group_with_deleted_instance(&h).await;
        assert_eq!(reclamation["state"], "SCHEDULED");
        let (id, guid) = (reclamation["id"].as_str().expect("id"), reclamation["resource_instance_id"].as_str().expect("guid"));
        let group = format!("/v2/resource_groups/{group_id}");
        let (status, _, _) = h.call(Method::DELETE, &group, None, &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a scheduled reclamation holds the group");

        let reclaim = format!("/v1/reclamations/{id}/actions/reclaim");
        let (status, body, _) = h.call(Method::POST, &reclaim, Some(json!({})), &[]).await;
        assert_eq!((status, body["state"].as_str()), (StatusCode::OK, Some("RECLAIMING")), "{body}");
        assert!(body.as_object().expect("object").keys().all(|k| !k.starts_with("_emulator_")), "{body}");
        let listed = reclamations_of(&h, &group_id).await;
        assert_eq!(listed.iter().map(|r| r["state"].clone()).collect::<Vec<_>>(), [json!("RECLAIMING")]);
        assert!(listed[0].as_object().expect("object").keys().all(|k| !k.starts_with("_emulator_")), "{listed:?}");
        assert_eq!(instance_state(&h, guid).await, "pending_reclamation");
        let (status, _, _) = h.call(Method::DELETE, &group, None, &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a reclaiming instance still holds the group");
        let (status, body, _) = h.call(Method::POST, &reclaim, Some(json!({})), &[]).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
    }

    #[tokio::test]
    async fn a_finished_reclaim_removes_the_instance_and_frees_the_group() {
        let h = Harness::start(EmulatorConfig { reclaim_ms: 0, ..EmulatorConfig::default() }).await;
        let (group_id, reclamation) = group_with_deleted_instance(&h).await;
        let (id, guid) = (reclamation["id"].as_str().expect("id"), reclamation["resource_instance_id"].as_str().expect("guid"));
        let (status, _, _) = h.call(Method::POST, &format!("/v1/reclamations/{id}/actions/reclaim"), Some(json!({})), &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(reclamations_of(&h, &group_id).await.is_empty());
        assert_eq!(instance_state(&h, guid).await, "removed");
        let (status, _, _) = h.call(Method::DELETE, &format!("/v2/resource_groups/{group_id}"), None, &[]).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
}
