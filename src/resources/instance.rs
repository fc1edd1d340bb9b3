//! `ibmqr_instance`: a Qiskit Runtime service instance (Resource Controller), with its user tags
//! (Global Tagging: RC never returns tags) and its parameters (`instance_limit_seconds`,
//! `usage_allocation_seconds`, `backends`: sent in `parameters` as strings, read back from
//! `extensions`). Name, plan and parameters change in place through PATCH.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map};

use crate::framework::legacy::{state_from, Ctx, Plan, Resource, StateResult};
use crate::framework::plan::plan_new_object;
use crate::framework::timeouts::{timeout_for, timeouts_block, validate_timeouts};
use crate::framework::{from_value, to_value, Attribute, AttributePath, Block, Diagnostics, Schema, Value};
use crate::ibmcloud::resource_controller::{InstanceUpdate, NewResourceInstance, ResourceInstance, QUANTUM_RESOURCE_ID};
use crate::ibmcloud::{self, poll_until, Client, Poll};

use super::{provider_and, provider_and_both};
use crate::configured::plan_catalog::{built_in_id, built_in_name, BUILT_IN_PLANS, LEGACY_PLANS};
use crate::configured::{api_error, provider, ProviderState};
use crate::plan_checks::{check_qiskit_region, OPEN_PLAN_REGION, QISKIT_REGIONS};

pub const TYPE_NAME: &str = "ibmqr_instance";
const TIMEOUT_OPS: [&str; 3] = ["create", "update", "delete"];
/// terraform-provider-ibm's defaults for resource instances.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Plan names the documentation lists: the built-in ones, then the legacy ones (whose catalog
/// IDs are not published, UNCERTAIN, so they are looked up in the Global Catalog).
fn documented_plan_names() -> Vec<&'static str> {
    BUILT_IN_PLANS.iter().map(|(n, _)| *n).chain(LEGACY_PLANS).collect()
}

/// The name state shows for `plan_id`: the user's name when state already binds it to this ID
/// (their form is kept), else the built-in or catalog name (`None` when the catalog lacks it).
async fn plan_name_for_state(state: &ProviderState, plan_id: &str, prior: &Model) -> Result<Option<String>, ibmcloud::Error> {
    if prior.plan.is_some() && prior.plan_id.as_deref() == Some(plan_id) {
        return Ok(prior.plan.clone());
    }
    state.plan_catalog.name_of(&state.client, plan_id).await
}

/// The plan ID to send: the planned `plan_id`, else the planned `plan` resolved (built in, or
/// through the cached catalog).
async fn plan_id_to_send(state: &ProviderState, model: &Model) -> Result<String, Diagnostics> {
    if let Some(id) = &model.plan_id {
        return Ok(id.clone());
    }
    let Some(name) = &model.plan else {
        return Err(Diagnostics::attr_error(AttributePath::attr("plan"), "No plan", "Set plan or plan_id."));
    };
    match state.plan_catalog.id_of(&state.client, name).await {
        Ok(Some(id)) => Ok(id),
        Ok(None) => Err(Diagnostics::attr_error(
            AttributePath::attr("plan"),
            "Unknown plan",
            format!("{name:?} is not a Qiskit Runtime plan in the Global Catalog; set plan_id instead."),
        )),
        Err(e) => Err(api_error(&format!("looking up plan {name:?} in the Global Catalog"), &e)),
    }
}

fn is_pay_as_you_go(plan: &str) -> bool {
    matches!(plan, "pay-as-you-go" | "paygo-standard")
}

/// Whether IBM moves an instance to `plan` in place. Upgrades to a paid plan are (Open →
/// Pay-As-You-Go is documented); moves back to `open` or `lite` are not (UNCERTAIN), so those
/// replace the instance.
fn plan_change_in_place(plan: Option<&str>) -> bool {
    !matches!(plan, Some("open" | "lite"))
}

pub struct Instance;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
struct Model {
    id: Option<String>,
    guid: Option<String>,
    crn: Option<String>,
    state: Option<String>,
    name: String,
    plan: Option<String>,
    plan_id: Option<String>,
    region: String,
    resource_group_id: Option<String>,
    tags: Option<BTreeSet<String>>,
    instance_limit_seconds: Option<u64>,
    usage_allocation_seconds: Option<u64>,
    backends: Option<BTreeSet<String>>,
    purge_on_destroy: Option<bool>,
    timeouts: Option<serde_json::Value>,
}

impl Model {
    /// State from what IBM returned, keeping the user's forms from `prior` where they name the
    /// same thing (tag case); `plan` is the name for the instance's plan ID (see
    /// [`plan_name_for_state`]).
    fn from_instance(instance: &ResourceInstance, tags: &[String], prior: &Model, plan: Option<String>) -> Model {
        let plan_id = instance.resource_plan_id.clone();
        Model {
            id: Some(instance.crn.clone()),
            guid: Some(instance.guid.clone()),
            crn: Some(instance.crn.clone()),
            state: Some(instance.state.clone()),
            name: instance.name.clone(),
            plan,
            plan_id: Some(plan_id),
            region: instance.region_id.clone(),
            resource_group_id: Some(instance.resource_group_id.clone()),
            tags: keep_user_tag_forms(tags, prior.tags.as_ref()),
            instance_limit_seconds: instance.extension_u64("instance_limit_seconds"),
            usage_allocation_seconds: instance.extension_u64("usage_allocation_seconds"),
            backends: instance.extension_strings("backends").map(|b| b.into_iter().collect()),
            purge_on_destroy: Some(prior.purge_on_destroy.unwrap_or(false)),
            timeouts: prior.timeouts.clone(),
        }
    }
}

/// IBM stores tags lowercase; a configured `Env:Dev` names the same tag as `env:dev`, so the
/// user's form is kept. No tags and none configured stays null.
fn keep_user_tag_forms(api: &[String], prior: Option<&BTreeSet<String>>) -> Option<BTreeSet<String>> {
    if api.is_empty() && prior.is_none() {
        return None;
    }
    Some(api.iter().map(|t| prior.and_then(|p| p.iter().find(|u| u.to_lowercase() == *t)).cloned().unwrap_or_else(|| t.clone())).collect())
}

fn lower(tags: Option<&BTreeSet<String>>) -> BTreeSet<String> {
    tags.into_iter().flatten().map(|t| t.to_lowercase()).collect()
}

fn encode(model: &Model) -> Result<Value, Diagnostics> {
    Ok(to_value(model, &Instance.schema().value_type())?)
}

fn tag_ok(tag: &str) -> bool {
    (1..=128).contains(&tag.chars().count()) && tag.chars().all(|c| c.is_ascii_alphanumeric() || " _-.:".contains(c))
}

fn name_ok(name: &str) -> bool {
    !name.trim().is_empty() && name.chars().count() <= 180 && name.chars().all(|c| c.is_ascii_alphanumeric() || " -._:".contains(c))
}

/// A configured number that must be a non-negative whole number of seconds.
fn check_seconds(config: &Value, attr: &str, diags: &mut Diagnostics) {
    if let Some(Value::Number(n)) = config.get(attr) {
        let whole = n.as_u64().is_some() || n.as_f64().is_some_and(|f| f >= 0.0 && f.fract() == 0.0 && f < 1e15);
        if !whole {
            diags.add_attr_error(
                AttributePath::attr(attr),
                "Invalid number of seconds",
                format!("{attr} must be a whole number of seconds, 0 or more; it is {n}."),
            );
        }
    }
}

fn known_str<'a>(v: &'a Value, attr: &str) -> Option<&'a str> {
    v.get(attr).and_then(Value::as_str)
}

/// Parameters to send for the configured settings (numbers as strings, as IBM expects).
fn parameters_of(model: &Model, only_changed_from: Option<&Model>) -> Map<String, serde_json::Value> {
    let mut p = Map::new();
    let changed = |now: &Option<u64>, before: Option<&Option<u64>>| now.is_some() && before != Some(now);
    if changed(&model.instance_limit_seconds, only_changed_from.map(|m| &m.instance_limit_seconds)) {
        p.insert("instance_limit_seconds".into(), json!(model.instance_limit_seconds.map(|n| n.to_string())));
    }
    if changed(&model.usage_allocation_seconds, only_changed_from.map(|m| &m.usage_allocation_seconds)) {
        p.insert("usage_allocation_seconds".into(), json!(model.usage_allocation_seconds.map(|n| n.to_string())));
    }
    if let Some(backends) = &model.backends {
        if only_changed_from.map(|m| &m.backends) != Some(&model.backends) {
            p.insert("backends".into(), json!(backends));
        }
    }
    p
}

/// RC drops a PATCH identical to the previous one; a fresh timestamp makes each one unique.
fn dedup_timestamp() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| format!("{:?}", std::time::SystemTime::now()))
}

impl Instance {
    /// An instance whose configuration leaves out `region` lives in its provider's region: the
    /// plan says so, checks the instance's plan against it, and replaces an instance that lives
    /// in another region (say, after the provider's region changed).
    fn plan_default_region(&self, ctx: &Ctx, plan: &mut Plan) -> Diagnostics {
        if !plan.config.get("region").is_none_or(Value::is_null) {
            return Diagnostics::new();
        }
        let region = match provider(ctx) {
            Ok(state) => state.region.clone(),
            Err(d) => return d,
        };
        let config_str = |attr: &str| plan.config.get(attr).and_then(Value::as_str);
        let plan_name = config_str("plan").or_else(|| config_str("plan_id").and_then(built_in_name));
        let mut diags = Diagnostics::new();
        check_qiskit_region(&region, plan_name, " (the provider's region)", &mut diags);
        if diags.has_errors() {
            return diags;
        }
        let moved = plan.prior.as_ref().and_then(|p| known_str(p, "region")).is_some_and(|r| r != region);
        if moved && plan.requires_replace.is_empty() {
            plan.requires_replace.push(AttributePath::attr("region"));
            plan_new_object(&self.schema().block, &plan.config, &mut plan.planned);
        }
        // After plan_new_object, which leaves every computed attribute unknown, `region` too.
        plan.planned.set("region", Value::string(region));
        diags
    }
}

#[async_trait]
impl Resource for Instance {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        let plans: Vec<String> = documented_plan_names().iter().map(|n| format!("`{n}`")).collect();
        Schema::new(
            0,
            Block::new("A Qiskit Runtime (`quantum-computing`) service instance.")
                .attr(Attribute::string("id").computed().describe("The instance's CRN."))
                .attr(Attribute::string("guid").computed().describe("The instance's GUID."))
                .attr(Attribute::string("crn").computed().describe("The instance's CRN, used by Qiskit Runtime clients as the instance."))
                .attr(Attribute::string("state").computed().describe("State, e.g. `active`."))
                .attr(Attribute::string("name").required().describe("Name: up to 180 letters, digits, spaces and `- . _ :`. Renamed in place."))
                .attr(Attribute::string("plan").optional().computed().describe(&format!(
                    "Plan name: {} (names other than the four current plans are looked up in the Global Catalog). Set `plan` or `plan_id`. Upgrades change it in place; a move to `open` or `lite` replaces the instance.",
                    plans.join(", ")
                )))
                .attr(Attribute::string("plan_id").optional().computed().describe("Catalog plan ID, instead of `plan`."))
                .attr(Attribute::string("region").optional().computed().force_new().describe(&format!(
                    "{} (the `open` plan only in `{OPEN_PLAN_REGION}`). Default: the provider's `region`. Changing it, or the provider's region when it is not set, replaces the instance.",
                    QISKIT_REGIONS.map(|r| format!("`{r}`")).join(" or ")
                )))
                .attr(Attribute::string("resource_group_id").optional().computed().force_new().describe(
                    "Resource group. Default: the account's default group. Changing it replaces the instance.",
                ))
                .attr(Attribute::string_set("tags").optional().describe("User tags. IBM stores them lowercase; case differences cause no change."))
                .attr(Attribute::number("instance_limit_seconds").optional().computed().describe(
                    "Usage limit in seconds. Unset keeps what IBM applies (the `open` plan's default is 600).",
                ))
                .attr(Attribute::number("usage_allocation_seconds").optional().computed().describe(
                    "Share of the plan's time allocated to the instance (Flex, Premium); not for `pay-as-you-go`.",
                ))
                .attr(Attribute::string_set("backends").optional().computed().describe("Backends the instance may use; IBM's default is `[\"ANY\"]`."))
                .attr(Attribute::bool("purge_on_destroy").default(Value::Bool(false)).describe(
                    "Reclaim the instance at once on destroy instead of leaving it pending reclamation, so its resource group can be deleted. Default false.",
                ))
                .block(timeouts_block(&TIMEOUT_OPS)),
        )
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = validate_timeouts(config, &TIMEOUT_OPS);
        if let Some(name) = known_str(config, "name") {
            if !name_ok(name) {
                diags.add_attr_error(
                    AttributePath::attr("name"),
                    "Invalid instance name",
                    format!("{name:?}: use up to 180 letters, digits, spaces and - . _ :"),
                );
            }
        }
        let plan = config.get("plan").cloned().unwrap_or_default();
        let plan_id = config.get("plan_id").cloned().unwrap_or_default();
        match (plan.is_null(), plan_id.is_null()) {
            (true, true) => {
                diags.add_attr_error(AttributePath::attr("plan"), "No plan", "Set plan (e.g. \"open\" or \"pay-as-you-go\") or plan_id.");
            }
            (false, false) => {
                diags.add_attr_error(AttributePath::attr("plan_id"), "Both plan and plan_id", "Set plan or plan_id, not both.");
            }
            _ => {}
        }
        // Whether a name is a plan is checked against the Global Catalog in modify_plan: validate
        // runs in an unconfigured provider.
        for attr in ["plan", "plan_id"] {
            if config.get(attr).and_then(Value::as_str).is_some_and(|v| v.trim().is_empty()) {
                diags.add_attr_error(
                    AttributePath::attr(attr),
                    "Empty plan",
                    format!("{attr} is empty; name a plan (e.g. \"open\") or remove it."),
                );
            }
        }
        let effective = plan.as_str().or_else(|| plan_id.as_str().and_then(built_in_name));
        if let Some(region) = known_str(config, "region") {
            check_qiskit_region(region, effective, "", &mut diags);
        }
        if effective.is_some_and(is_pay_as_you_go) && config.get("usage_allocation_seconds").is_some_and(|v| !v.is_null()) {
            diags.add_attr_error(
                AttributePath::attr("usage_allocation_seconds"),
                "Allocation does not apply",
                "usage_allocation_seconds is for Flex and Premium instances; a pay-as-you-go instance has no allocation. Use instance_limit_seconds to cap its cost.",
            );
        }
        check_seconds(config, "instance_limit_seconds", &mut diags);
        check_seconds(config, "usage_allocation_seconds", &mut diags);
        for tag in config.get("tags").map(Value::elements).unwrap_or_default().iter().filter_map(Value::as_str) {
            if !tag_ok(tag) {
                diags.add_attr_error(
                    AttributePath::attr("tags"),
                    "Invalid tag",
                    format!("{tag:?}: tags are 1 to 128 letters, digits, spaces and _ - . : (no commas)."),
                );
            }
        }
        for backend in config.get("backends").map(Value::elements).unwrap_or_default().iter().filter_map(Value::as_str) {
            if backend.trim().is_empty() {
                diags.add_attr_error(
                    AttributePath::attr("backends"),
                    "Empty backend name",
                    "backends holds backend names such as \"ibm_torino\", or \"ANY\".",
                );
            }
        }
        diags
    }

    async fn modify_plan(&self, ctx: &Ctx, plan: &mut Plan) -> Diagnostics {
        if plan.planned.is_null() {
            return Diagnostics::new();
        }
        let region_diags = self.plan_default_region(ctx, plan);
        if region_diags.has_errors() {
            return region_diags;
        }
        // Keep plan and plan_id in step: the one the user wrote decides, the other follows. The
        // four current plans are built in; other names and IDs go through the Global Catalog
        // (cached per process), unless state already binds the same name to its ID.
        let config_plan = plan.config.get("plan").cloned().unwrap_or_default();
        let config_plan_id = plan.config.get("plan_id").cloned().unwrap_or_default();
        let prior_str = |attr: &str| plan.prior.as_ref().and_then(|p| known_str(p, attr)).map(str::to_owned);
        if let Some(name) = config_plan.as_str() {
            let id = match built_in_id(name) {
                Some(id) => Value::string(id),
                None => match prior_str("plan_id").filter(|_| prior_str("plan").as_deref() == Some(name)) {
                    Some(id) => Value::string(id),
                    None => match catalog_plan_id(ctx, name).await {
                        Ok(id) => Value::string(id),
                        Err(d) => return d,
                    },
                },
            };
            plan.planned.set("plan_id", id);
        } else if config_plan.is_unknown() {
            plan.planned.set("plan_id", Value::Unknown);
        } else if let Some(id) = config_plan_id.as_str() {
            let name = match built_in_name(id) {
                Some(n) => Value::string(n),
                None if prior_str("plan_id").as_deref() == Some(id) => {
                    plan.prior.as_ref().and_then(|p| p.get("plan")).cloned().unwrap_or_default()
                }
                // A plan ID the catalog does not list is still sent as written: its name is null.
                None => match provider(ctx) {
                    Ok(state) => match state.plan_catalog.name_of(&state.client, id).await {
                        Ok(name) => name.map(Value::string).unwrap_or_default(),
                        Err(e) => return api_error(&format!("looking up plan ID {id} in the Global Catalog"), &e),
                    },
                    Err(d) => return d,
                },
            };
            plan.planned.set("plan", name);
        } else if config_plan_id.is_unknown() {
            plan.planned.set("plan", Value::Unknown);
        }
        let Some(prior) = plan.prior.clone() else { return Diagnostics::new() };
        let before = prior.get("plan_id").cloned().unwrap_or_default();
        let after = plan.planned.get("plan_id").cloned().unwrap_or_default();
        if before == after || !plan.requires_replace.is_empty() {
            return Diagnostics::new();
        }
        let new_plan = plan.planned.get("plan").and_then(Value::as_str).map(str::to_owned);
        let new_object = !after.is_unknown() && !plan_change_in_place(new_plan.as_deref());
        if new_object {
            let which = if config_plan.is_null() { "plan_id" } else { "plan" };
            plan.requires_replace.push(AttributePath::attr(which));
        }
        // What IBM applies may differ under another plan: unconfigured settings become unknown,
        // and on replacement so does everything IBM computes.
        for attr in self.schema().block.attributes.iter().filter(|a| a.computed && a.default.is_none()) {
            let configured = plan.config.get(&attr.name).is_some_and(|v| !v.is_null());
            let settings = ["instance_limit_seconds", "usage_allocation_seconds", "backends"].contains(&attr.name.as_str());
            // `region` was planned by plan_default_region, and stays on a plan change.
            if !configured && (new_object || settings) && !["plan", "plan_id", "region"].contains(&attr.name.as_str()) {
                if new_object && attr.name == "resource_group_id" {
                    continue;
                }
                plan.planned.set(&attr.name, Value::Unknown);
            }
        }
        Diagnostics::new()
    }

    async fn create(&self, ctx: &Ctx, planned: &Value, _config: &Value) -> StateResult {
        let (state, model) = match provider_and::<Model>(ctx, planned) {
            Ok(opened) => opened,
            Err(d) => return (None, d),
        };
        let client = &state.client;
        let doing = format!("creating Qiskit Runtime instance {}", model.name);
        let plan_id = match plan_id_to_send(state, &model).await {
            Ok(id) => id,
            Err(d) => return (None, d),
        };
        let group_id = match &model.resource_group_id {
            Some(id) => id.clone(),
            None => match client.default_resource_group().await {
                Ok(Some(g)) => g.id,
                Ok(None) => {
                    return (
                        None,
                        Diagnostics::attr_error(
                            AttributePath::attr("resource_group_id"),
                            "No default resource group",
                            format!("{doing}: the account has no default resource group; set resource_group_id."),
                        ),
                    )
                }
                Err(e) => return (None, api_error(&format!("{doing}: finding the default resource group"), &e)),
            },
        };
        let request = NewResourceInstance {
            name: model.name.clone(),
            target: model.region.clone(),
            resource_group: group_id,
            resource_plan_id: plan_id,
            parameters: parameters_of(&model, None),
        };
        let created = match client.create_resource_instance(&request).await {
            Ok(i) => i,
            Err(e) => return (None, api_error(&doing, &e)),
        };
        // From here on the instance exists: every answer keeps it in state.
        let configured_tags: Vec<String> = lower(model.tags.as_ref()).into_iter().collect();
        // The plan's name is informational here: a failed lookup leaves it null rather than
        // failing a create that happened (the next read fills it in).
        let plan_name = plan_name_for_state(state, &created.resource_plan_id, &model).await.ok().flatten();
        // Tags are not attached yet: state says so until they are.
        let mut result = Model::from_instance(&created, &[], &model, plan_name.clone());
        let timeout = timeout_for(planned, "create", DEFAULT_TIMEOUT);
        let active = match wait_until(ctx, client, &created.guid, timeout, "active", |i| i.state == "active").await {
            Ok(i) => i,
            Err(d) => return (encode(&result).ok(), d),
        };
        result = Model::from_instance(&active, &[], &model, plan_name);
        if !configured_tags.is_empty() {
            if let Err(e) = client.attach_tags(&active.crn, &configured_tags).await {
                return (encode(&result).ok(), api_error(&format!("{doing}: attaching tags"), &e));
            }
        }
        result.tags = model.tags.clone();
        state_from(encode(&result))
    }

    async fn read(&self, ctx: &Ctx, state_value: &Value) -> Result<Option<Value>, Diagnostics> {
        let state = provider(ctx)?;
        let prior: Model = from_value(state_value)?;
        let Some(id) = prior.crn.clone().or(prior.id.clone()) else { return Ok(None) };
        let doing = format!("reading Qiskit Runtime instance {}", prior.name);
        let instance = match state.client.get_resource_instance(&id).await {
            // Deleted (removed, or waiting for reclamation) counts as gone: the next plan creates it.
            Ok(Some(i)) if !i.is_deleted() => i,
            Ok(_) => return Ok(None),
            Err(e) => return Err(api_error(&doing, &e)),
        };
        let tags =
            state.client.list_attached_tags(&instance.crn).await.map_err(|e| api_error(&format!("{doing}: listing its tags"), &e))?;
        let plan = plan_name_for_state(state, &instance.resource_plan_id, &prior)
            .await
            .map_err(|e| api_error(&format!("{doing}: looking up its plan in the Global Catalog"), &e))?;
        Ok(Some(encode(&Model::from_instance(&instance, &tags, &prior, plan))?))
    }

    async fn update(&self, ctx: &Ctx, prior_value: &Value, planned: &Value, _config: &Value) -> StateResult {
        let (state, prior, model) = match provider_and_both::<Model>(ctx, prior_value, planned) {
            Ok(opened) => opened,
            Err(d) => return (None, d),
        };
        let client = &state.client;
        let Some(crn) = prior.crn.clone() else {
            return (None, Diagnostics::error("Instance has no CRN", "the state of this instance has no CRN; import it again"));
        };
        let doing = format!("updating Qiskit Runtime instance {}", model.name);
        let mut update = InstanceUpdate::default();
        if model.name != prior.name {
            update.name = Some(model.name.clone());
        }
        let new_plan_id = match plan_id_to_send(state, &model).await {
            Ok(id) => id,
            Err(d) => return (None, d),
        };
        if prior.plan_id.as_deref() != Some(new_plan_id.as_str()) {
            update.resource_plan_id = Some(new_plan_id.clone());
        }
        let mut parameters = parameters_of(&model, Some(&prior));
        if !parameters.is_empty() {
            parameters.insert("timestamp".into(), json!(dedup_timestamp()));
            update.parameters = Some(parameters);
        }
        let mut current = prior.clone();
        current.purge_on_destroy = model.purge_on_destroy;
        current.timeouts = model.timeouts.clone();
        if !update.is_empty() {
            if let Err(e) = client.update_resource_instance(&crn, &update).await {
                return (encode(&current).ok(), api_error(&doing, &e));
            }
            let timeout = timeout_for(planned, "update", DEFAULT_TIMEOUT);
            let want = model.clone();
            let want_plan_id = new_plan_id.clone();
            let shows_change = move |i: &ResourceInstance| {
                i.state == "active"
                    && i.name == want.name
                    && want_plan_id == i.resource_plan_id
                    && want.instance_limit_seconds.is_none_or(|n| i.extension_u64("instance_limit_seconds") == Some(n))
                    && want.usage_allocation_seconds.is_none_or(|n| i.extension_u64("usage_allocation_seconds") == Some(n))
                    && want
                        .backends
                        .as_ref()
                        .is_none_or(|b| i.extension_strings("backends").map(|x| x.into_iter().collect::<BTreeSet<_>>()).as_ref() == Some(b))
            };
            match wait_until(ctx, client, &crn, timeout, "showing the change", shows_change).await {
                Ok(i) => {
                    let tags = prior.tags.clone();
                    let plan_name = plan_name_for_state(state, &i.resource_plan_id, &model).await.ok().flatten();
                    current = Model::from_instance(&i, &[], &model, plan_name);
                    current.tags = tags;
                }
                Err(d) => return (encode(&current).ok(), d),
            }
        }
        // Tags: detach what went, attach what came (compared as IBM stores them).
        let (before, after) = (lower(prior.tags.as_ref()), lower(model.tags.as_ref()));
        let gone: Vec<String> = before.difference(&after).cloned().collect();
        let added: Vec<String> = after.difference(&before).cloned().collect();
        if let Err(e) = client.detach_tags(&crn, &gone).await {
            return (encode(&current).ok(), api_error(&format!("{doing}: detaching tags"), &e));
        }
        if let Err(e) = client.attach_tags(&crn, &added).await {
            return (encode(&current).ok(), api_error(&format!("{doing}: attaching tags"), &e));
        }
        current.tags = model.tags.clone();
        state_from(encode(&current))
    }

    async fn delete(&self, ctx: &Ctx, prior_value: &Value) -> Diagnostics {
        let (state, prior) = match provider_and::<Model>(ctx, prior_value) {
            Ok(opened) => opened,
            Err(d) => return d,
        };
        let Some(crn) = prior.crn.clone() else { return Diagnostics::new() };
        let client = &state.client;
        let doing = format!("deleting Qiskit Runtime instance {}", prior.name);
        if let Err(e) = client.delete_resource_instance(&crn).await {
            return api_error(&doing, &e);
        }
        let timeout = timeout_for(prior_value, "delete", DEFAULT_TIMEOUT);
        let deleted = match wait_gone(ctx, client, &crn, timeout, |i| i.is_deleted()).await {
            Ok(i) => i,
            Err(e) => return api_error(&doing, &e),
        };
        if !prior.purge_on_destroy.unwrap_or(false) {
            return Diagnostics::new();
        }
        let Some(guid) = deleted.map(|i| i.guid).or(prior.guid.clone()) else { return Diagnostics::new() };
        // The reclamation itself may take a moment to be listed (eventual consistency), so the
        // purge is retried on every poll until the instance is removed.
        let (crn, guid) = (&crn, &guid);
        let purged = poll_until(&ctx.cancel, timeout, &format!("instance {crn} to be purged"), || async move {
            match client.get_resource_instance(crn).await? {
                None => return Ok(Poll::Ready(())),
                Some(i) if i.state == "removed" => return Ok(Poll::Ready(())),
                Some(_) => {}
            }
            for reclamation in client.list_reclamations(Some(guid), None).await? {
                match client.reclaim(&reclamation.id).await {
                    Ok(_) => {}
                    // Already reclaimed in the meantime is fine.
                    Err(e) if e.is_not_found() || e.status() == Some(410) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(Poll::Pending("pending reclamation".into()))
        })
        .await;
        match purged {
            Ok(()) => Diagnostics::new(),
            Err(e) => api_error(&format!("{doing}: purging it"), &e),
        }
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Value, Diagnostics> {
        let state = provider(ctx)?;
        let doing = format!("importing Qiskit Runtime instance {id}");
        let instance = match state.client.get_resource_instance(id).await {
            Ok(Some(i)) if !i.is_deleted() => i,
            Ok(Some(i)) => return Err(Diagnostics::error("Instance deleted", format!("{doing}: the instance is {}, so there is nothing to import.", i.state))),
            Ok(None) => {
                return Err(Diagnostics::error(
                    "Instance not found",
                    format!("{doing}: no instance has this CRN or GUID. Import takes the instance's CRN (crn:v1:bluemix:public:quantum-computing:…) or GUID."),
                ))
            }
            Err(e) => return Err(api_error(&doing, &e)),
        };
        if instance.resource_id != QUANTUM_RESOURCE_ID {
            return Err(Diagnostics::error(
                "Not a Qiskit Runtime instance",
                format!("{doing}: it is an instance of another service ({}).", instance.resource_id),
            ));
        }
        let tags =
            state.client.list_attached_tags(&instance.crn).await.map_err(|e| api_error(&format!("{doing}: listing its tags"), &e))?;
        let plan = plan_name_for_state(state, &instance.resource_plan_id, &Model::default())
            .await
            .map_err(|e| api_error(&format!("{doing}: looking up its plan in the Global Catalog"), &e))?;
        encode(&Model::from_instance(&instance, &tags, &Model::default(), plan))
    }
}

/// The catalog ID of a plan name that is not built in; an unknown name is an error on `plan`
/// that lists the names the catalog offers.
async fn catalog_plan_id(ctx: &Ctx, name: &str) -> Result<String, Diagnostics> {
    let state = provider(ctx)?;
    let catalog = &state.plan_catalog;
    let doing = format!("looking up plan {name:?} in the Global Catalog");
    match catalog.id_of(&state.client, name).await {
        Ok(Some(id)) => Ok(id),
        Ok(None) => {
            let names = catalog.names(&state.client).await.map_err(|e| api_error(&doing, &e))?;
            Err(Diagnostics::attr_error(
                AttributePath::attr("plan"),
                "Unknown plan",
                format!("{name:?} is not a Qiskit Runtime plan; use one of {}, or give plan_id.", names.join(", ")),
            ))
        }
        Err(e) => Err(api_error(&doing, &e)),
    }
}

/// Reads the instance until `ready` holds (404 = not visible yet), within `timeout`.
async fn wait_until(
    ctx: &Ctx,
    client: &Client,
    id: &str,
    timeout: Duration,
    what: &str,
    ready: impl Fn(&ResourceInstance) -> bool,
) -> Result<ResourceInstance, Diagnostics> {
    let ready = &ready;
    poll_until(&ctx.cancel, timeout, &format!("instance {id} {what}"), || async move {
        match client.get_resource_instance(id).await? {
            Some(i) if ready(&i) => Ok(Poll::Ready(i)),
            Some(i) if i.state == "failed" || i.last_operation.as_ref().and_then(|o| o.state.as_deref()) == Some("failed") => {
                let why = i.last_operation.and_then(|o| o.description).unwrap_or_default();
                Err(ibmcloud::Error::Decode(format!("instance {id} failed: {why}")))
            }
            Some(i) => Ok(Poll::Pending(i.state)),
            None => Ok(Poll::Pending("not yet visible".into())),
        }
    })
    .await
    .map_err(|e| api_error(&format!("waiting for instance {id}"), &e))
}

/// Reads the instance until it is deleted as `done` says (404 counts as done too).
async fn wait_gone(
    ctx: &Ctx,
    client: &Client,
    id: &str,
    timeout: Duration,
    done: impl Fn(&ResourceInstance) -> bool,
) -> Result<Option<ResourceInstance>, ibmcloud::Error> {
    let done = &done;
    poll_until(&ctx.cancel, timeout, &format!("instance {id} to be deleted"), || async move {
        match client.get_resource_instance(id).await? {
            Some(i) if done(&i) => Ok(Poll::Ready(Some(i))),
            Some(i) => Ok(Poll::Pending(i.state)),
            None => Ok(Poll::Ready(None)),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: serde_json::Value) -> Value {
        Value::from_json(&json, &Instance.schema().value_type()).expect("value")
    }

    fn paths(d: &Diagnostics) -> Vec<String> {
        d.0.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect()
    }

    /// A context whose provider is configured for `region` (no request is made).
    fn ctx_in(region: &str) -> Ctx {
        let endpoints = ibmcloud::Endpoints::uniform("http://127.0.0.1:1").expect("endpoints");
        let config = ibmcloud::ClientConfig::new(ibmcloud::ApiKey::new("k"), endpoints);
        let client = Client::new(config, tokio_util::sync::CancellationToken::new()).expect("client");
        Ctx::new(Some(std::sync::Arc::new(ProviderState::new(client, region.into()))), tokio_util::sync::CancellationToken::new())
    }

    fn plan_of(prior: Option<serde_json::Value>, config_json: serde_json::Value) -> Plan {
        let config = config(config_json);
        let prior = prior.map(|p| Value::from_json(&p, &Instance.schema().value_type()).expect("prior"));
        Plan { prior, planned: config.clone(), config, requires_replace: vec![] }
    }

    #[test]
    fn region_comes_from_the_provider_when_not_set() {
        let mut plan = plan_of(None, json!({"name": "qr", "plan": "pay-as-you-go"}));
        assert!(!Instance.plan_default_region(&ctx_in("eu-de"), &mut plan).has_errors());
        assert_eq!(plan.planned.get("region"), Some(&Value::string("eu-de")));
        assert!(plan.requires_replace.is_empty(), "a create replaces nothing");

        // A written region wins over the provider's.
        let mut plan = plan_of(None, json!({"name": "qr", "plan": "pay-as-you-go", "region": "us-east"}));
        assert!(!Instance.plan_default_region(&ctx_in("eu-de"), &mut plan).has_errors());
        assert_eq!(plan.planned.get("region"), Some(&Value::string("us-east")));
    }

    #[test]
    fn an_instance_in_another_region_than_its_providers_is_replaced() {
        let prior = json!({"id": "crn", "crn": "crn", "guid": "g", "name": "qr", "plan": "pay-as-you-go", "region": "us-east"});
        let mut plan = plan_of(Some(prior.clone()), json!({"name": "qr", "plan": "pay-as-you-go"}));
        plan.planned = Value::from_json(&prior, &Instance.schema().value_type()).expect("planned");
        assert!(!Instance.plan_default_region(&ctx_in("eu-de"), &mut plan).has_errors());
        assert_eq!(plan.requires_replace, vec![AttributePath::attr("region")]);
        assert!(plan.planned.get("crn").expect("crn").is_unknown(), "a new instance gets a new CRN");

        let mut plan = plan_of(Some(prior.clone()), json!({"name": "qr", "plan": "pay-as-you-go"}));
        plan.planned = Value::from_json(&prior, &Instance.schema().value_type()).expect("planned");
        assert!(!Instance.plan_default_region(&ctx_in("us-east"), &mut plan).has_errors());
        assert!(plan.requires_replace.is_empty(), "same region: no replacement");
    }

    #[test]
    fn the_providers_region_is_checked_like_a_written_one() {
        let mut plan = plan_of(None, json!({"name": "qr", "plan": "open"}));
        let d = Instance.plan_default_region(&ctx_in("eu-de"), &mut plan);
        assert_eq!(paths(&d), vec!["region"]);
        assert!(d.0[0].detail.contains("(the provider's region)"), "{d:?}");

        let mut plan = plan_of(None, json!({"name": "qr", "plan": "flex"}));
        let d = Instance.plan_default_region(&ctx_in("us-south"), &mut plan);
        assert_eq!(paths(&d), vec!["region"]);
        assert!(d.0[0].detail.contains("\"us-south\" (the provider's region)"), "{d:?}");
    }

    #[test]
    fn validate_names_the_attribute() {
        let d = Instance.validate(&config(json!({"name": "qr", "plan": "open", "region": "eu-de"})));
        assert_eq!(paths(&d), vec!["region"]);
        let d =
            Instance.validate(&config(json!({"name": "qr", "plan": "pay-as-you-go", "region": "us-east", "usage_allocation_seconds": 60})));
        assert_eq!(paths(&d), vec!["usage_allocation_seconds"]);
        let d = Instance.validate(&config(json!({"name": "qr", "plan": " ", "region": "us-east"})));
        assert_eq!(paths(&d), vec!["plan"]);
        // Names are checked against the catalog at plan time, not here.
        assert!(!Instance.validate(&config(json!({"name": "qr", "plan": "lite", "region": "us-east"}))).has_errors());
        let d = Instance
            .validate(&config(json!({"name": "qr", "plan": "paygo-standard", "region": "us-east", "usage_allocation_seconds": 60})));
        assert_eq!(paths(&d), vec!["usage_allocation_seconds"], "paygo-standard is pay-as-you-go");
        let d = Instance.validate(&config(json!({"name": "qr", "plan_id": BUILT_IN_PLANS[0].1, "region": "eu-de"})));
        assert_eq!(paths(&d), vec!["region"], "plan_id of the open plan counts as open");
        let d = Instance.validate(&config(
            json!({"name": "qr", "plan": "flex", "region": "us-east", "tags": ["a,b"], "usage_allocation_seconds": 1.5}),
        ));
        assert_eq!(paths(&d), vec!["usage_allocation_seconds", "tags"]);
        assert!(!Instance
            .validate(&config(json!({"name": "qr", "plan": "flex", "region": "eu-de", "usage_allocation_seconds": 60})))
            .has_errors());
    }

    #[test]
    fn user_tag_forms_survive_a_read() {
        let prior: BTreeSet<String> = ["Env:Dev".to_string(), "team".to_string()].into();
        let kept = keep_user_tag_forms(&["env:dev".into(), "team".into(), "new".into()], Some(&prior)).unwrap();
        assert_eq!(kept, ["Env:Dev", "team", "new"].iter().map(|s| s.to_string()).collect());
        assert_eq!(keep_user_tag_forms(&[], None), None);
    }

    #[test]
    fn parameters_are_strings_and_only_changes_are_sent() {
        let prior = Model { instance_limit_seconds: Some(600), backends: Some(["ANY".to_string()].into()), ..Default::default() };
        let now = Model { instance_limit_seconds: Some(900), backends: Some(["ANY".to_string()].into()), ..Default::default() };
        assert_eq!(serde_json::Value::Object(parameters_of(&now, Some(&prior))), json!({"instance_limit_seconds": "900"}));
        assert_eq!(serde_json::Value::Object(parameters_of(&now, None)), json!({"instance_limit_seconds": "900", "backends": ["ANY"]}));
    }
}
