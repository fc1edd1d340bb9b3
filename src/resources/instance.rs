//! `ibmqr_instance`: a Qiskit Runtime service instance (Resource Controller), with its user tags
//! (Global Tagging: RC never returns tags) and its parameters (`instance_limit_seconds`,
//! `usage_allocation_seconds`, `backends`: sent in `parameters` as strings, read back from
//! `extensions`). Name, plan and parameters change in place through PATCH.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Number};

use crate::configured::plan_catalog::{built_in_id, built_in_name, BUILT_IN_PLANS, LEGACY_PLANS};
use crate::configured::ProviderState;
use crate::framework::timeouts::timeouts_block;
use crate::framework::{
    Attribute, AttributePath, Block, Check, Context, Ctx, Diagnostics, IdentitySchema, ListRequest, ListResource, Listed, OpError,
    OpResult, Plan, Resource, Rule, Schema, Tf, Timeouts, Value,
};
use crate::ibmcloud::resource_controller::{InstanceFilter, InstanceUpdate, NewResourceInstance, ResourceInstance, QUANTUM_RESOURCE_ID};
use crate::ibmcloud::{self, poll_until, Client, Poll};
use crate::plan_checks::{check_qiskit_region, OPEN_PLAN_REGION, QISKIT_REGIONS};

use crate::plan_checks::WHITESPACE_CLASS;

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
    if prior.plan.is_known() && prior.plan_id.as_deref() == Some(plan_id) {
        return Ok(prior.plan.known().cloned());
    }
    state.plan_catalog.name_of(&state.client, plan_id).await
}

/// The plan ID to send: the planned `plan_id`, else the planned `plan` resolved (built in, or
/// through the cached catalog).
async fn plan_id_to_send(state: &ProviderState, model: &Model) -> OpResult<String> {
    if let Some(id) = model.plan_id.known() {
        return Ok(id.clone());
    }
    let Some(name) = model.plan.known() else {
        return Err(OpError::at(AttributePath::attr("plan"), "No plan", "Set plan or plan_id."));
    };
    let id = state.plan_catalog.id_of(&state.client, name).await.context(format_args!("looking up plan {name:?} in the Global Catalog"))?;
    id.ok_or_else(|| {
        OpError::at(
            AttributePath::attr("plan"),
            "Unknown plan",
            format!("{name:?} is not a Qiskit Runtime plan in the Global Catalog; set plan_id instead."),
        )
    })
}

/// The plan ID a configured plan name stands for: built in, the one state already binds to the
/// same name, or the catalog's.
async fn plan_id_for_name(state: &ProviderState, name: &str, prior: Option<&Model>) -> OpResult<String> {
    if let Some(id) = built_in_id(name) {
        return Ok(id.to_string());
    }
    if let Some(id) = prior.filter(|p| p.plan.as_deref() == Some(name)).and_then(|p| p.plan_id.known()) {
        return Ok(id.clone());
    }
    catalog_plan_id(state, name).await
}

/// The plan name a configured plan ID stands for: built in, the one state already binds to the
/// same ID, or the catalog's. A plan ID the catalog does not list is still sent as written: its
/// name is null.
async fn plan_name_for_id(ctx: &Ctx<ProviderState>, id: &str, prior: Option<&Model>) -> OpResult<Tf<String>> {
    if let Some(name) = built_in_name(id) {
        return Ok(Tf::Known(name.to_string()));
    }
    if let Some(prior) = prior.filter(|p| p.plan_id.as_deref() == Some(id)) {
        return Ok(prior.plan.clone());
    }
    let state = ctx.provider()?;
    let name =
        state.plan_catalog.name_of(&state.client, id).await.context(format_args!("looking up plan ID {id} in the Global Catalog"))?;
    Ok(name.into())
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
pub struct Model {
    id: Tf<String>,
    guid: Tf<String>,
    crn: Tf<String>,
    state: Tf<String>,
    name: Tf<String>,
    plan: Tf<String>,
    plan_id: Tf<String>,
    region: Tf<String>,
    resource_group_id: Tf<String>,
    /// A set; a vector here so that single unknown elements survive the plan.
    tags: Tf<Vec<Tf<String>>>,
    /// Numbers as written, so that a fraction is the declared check's error, not a decode error.
    instance_limit_seconds: Tf<Number>,
    usage_allocation_seconds: Tf<Number>,
    backends: Tf<Vec<Tf<String>>>,
    purge_on_destroy: Tf<bool>,
    timeouts: Timeouts,
}

impl Model {
    /// State from what IBM returned, keeping the user's forms from `prior` where they name the
    /// same thing (tag case); `plan` is the name for the instance's plan ID (see
    /// [`plan_name_for_state`]).
    fn from_instance(instance: &ResourceInstance, tags: &[String], prior: &Model, plan: Option<String>) -> Model {
        Model {
            id: Tf::Known(instance.crn.clone()),
            guid: Tf::Known(instance.guid.clone()),
            crn: Tf::Known(instance.crn.clone()),
            state: Tf::Known(instance.state.clone()),
            name: Tf::Known(instance.name.clone()),
            plan: plan.into(),
            plan_id: Tf::Known(instance.resource_plan_id.clone()),
            region: Tf::Known(instance.region_id.clone()),
            resource_group_id: Tf::Known(instance.resource_group_id.clone()),
            tags: string_set(keep_user_tag_forms(tags, known_set(&prior.tags).as_ref())),
            instance_limit_seconds: instance.extension_u64("instance_limit_seconds").map(Number::from).into(),
            usage_allocation_seconds: instance.extension_u64("usage_allocation_seconds").map(Number::from).into(),
            backends: string_set(instance.extension_strings("backends").map(|b| b.into_iter().collect())),
            purge_on_destroy: Tf::Known(prior.purge_on_destroy()),
            timeouts: prior.timeouts.clone(),
        }
    }

    fn purge_on_destroy(&self) -> bool {
        self.purge_on_destroy.known().copied().unwrap_or(false)
    }
}

/// The known elements of a set of strings; None when the set is null or unknown.
fn known_set(set: &Tf<Vec<Tf<String>>>) -> Option<BTreeSet<String>> {
    set.known().map(|items| items.iter().filter_map(Tf::known).cloned().collect())
}

fn string_set(set: Option<BTreeSet<String>>) -> Tf<Vec<Tf<String>>> {
    set.map(|items| items.into_iter().map(Tf::Known).collect()).into()
}

/// A known number of seconds (the schema's check makes it a whole number of at least 0).
fn seconds(value: &Tf<Number>) -> Option<u64> {
    value.known().and_then(Number::as_u64)
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

/// Parameters to send for the configured settings (numbers as strings, as IBM expects).
fn parameters_of(model: &Model, only_changed_from: Option<&Model>) -> Map<String, serde_json::Value> {
    let mut p = Map::new();
    let numbers = [
        ("instance_limit_seconds", seconds(&model.instance_limit_seconds), only_changed_from.map(|m| seconds(&m.instance_limit_seconds))),
        (
            "usage_allocation_seconds",
            seconds(&model.usage_allocation_seconds),
            only_changed_from.map(|m| seconds(&m.usage_allocation_seconds)),
        ),
    ];
    for (attr, now, before) in numbers {
        if let Some(n) = now.filter(|_| before != Some(now)) {
            p.insert(attr.into(), json!(n.to_string()));
        }
    }
    let backends = known_set(&model.backends);
    if let Some(list) = &backends {
        if only_changed_from.map(|m| known_set(&m.backends)) != Some(backends.clone()) {
            p.insert("backends".into(), json!(list));
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

/// An instance whose configuration leaves out `region` lives in its provider's region: the plan
/// says so, checks the instance's plan against it, and replaces an instance that lives in another
/// region (say, after the provider's region changed).
fn plan_default_region(state: &ProviderState, plan: &mut Plan<Model>) -> OpResult<()> {
    if !plan.config.region.is_null() {
        return Ok(());
    }
    let region = state.region.clone();
    let plan_name = plan.config.plan.as_deref().or_else(|| plan.config.plan_id.as_deref().and_then(built_in_name));
    let mut diags = Diagnostics::new();
    check_qiskit_region(&region, plan_name, " (the provider's region)", &mut diags);
    diags.into_result()?;
    let moved = plan.prior.as_ref().and_then(|p| p.region.as_deref()).is_some_and(|r| r != region);
    if moved && plan.requires_replace.is_empty() {
        plan.requires_replace.push(AttributePath::attr("region"));
    }
    plan.planned.region = Tf::Known(region);
    Ok(())
}

#[async_trait]
impl Resource<ProviderState> for Instance {
    type Model = Model;
    const TYPE_NAME: &'static str = TYPE_NAME;

    fn identity() -> IdentitySchema {
        IdentitySchema::new().attr("crn", "")
    }

    fn schema() -> Schema {
        let plans: Vec<String> = documented_plan_names().iter().map(|n| format!("`{n}`")).collect();
        let not_blank = format!("[^{WHITESPACE_CLASS}]");
        Schema::new(
            0,
            Block::new("A Qiskit Runtime (`quantum-computing`) service instance.")
                .attr(Attribute::string("id").computed().describe("The instance's CRN."))
                .attr(Attribute::string("guid").computed().describe("The instance's GUID."))
                .attr(Attribute::string("crn").computed().describe("The instance's CRN, used by Qiskit Runtime clients as the instance."))
                .attr(Attribute::string("state").computed().describe("State, e.g. `active`."))
                .attr(
                    Attribute::string("name")
                        .required()
                        .check(Check::length(1, 180))
                        .check(Check::pattern(
                            r"^[A-Za-z0-9 ._:-]*[A-Za-z0-9._:-][A-Za-z0-9 ._:-]*$",
                            "letters, digits, spaces and `- . _ :`, not only spaces",
                        ))
                        .describe("Name. Renamed in place."),
                )
                .attr(Attribute::string("plan").optional().computed().check(Check::pattern(&not_blank, "a plan name, not blank")).describe(
                    &format!(
                        "Plan name: {} (names other than the four current plans are looked up in the Global Catalog). Upgrades change it in place; a move to `open` or `lite` replaces the instance.",
                        plans.join(", ")
                    ),
                ))
                .attr(
                    Attribute::string("plan_id")
                        .optional()
                        .computed()
                        .check(Check::pattern(&not_blank, "a plan ID, not blank"))
                        .describe("Catalog plan ID, instead of `plan`."),
                )
                .attr(Attribute::string("region").optional().computed().force_new().check(Check::one_of(&QISKIT_REGIONS)).describe(
                    &format!(
                        "Region (the `open` plan only in `{OPEN_PLAN_REGION}`). Default: the provider's `region`; when it is not set, a change of the provider's region replaces the instance too."
                    ),
                ))
                .attr(
                    Attribute::string("resource_group_id")
                        .optional()
                        .computed()
                        .force_new()
                        .describe("Resource group. Default: the account's default group."),
                )
                .attr(
                    Attribute::string_set("tags")
                        .optional()
                        .check(Check::each(Check::pattern(
                            r"^[A-Za-z0-9 _.:-]{1,128}$",
                            "1 to 128 letters, digits, spaces and `_ - . :` (no commas)",
                        )))
                        .describe("User tags. IBM stores them lowercase; case differences cause no change."),
                )
                .attr(Attribute::number("instance_limit_seconds").optional().computed().check(Check::at_least(0)).describe(
                    "Usage limit in seconds. Unset keeps what IBM applies (the `open` plan's default is 600).",
                ))
                .attr(Attribute::number("usage_allocation_seconds").optional().computed().check(Check::at_least(0)).describe(
                    "Share of the plan's time allocated to the instance, in seconds (Flex, Premium); not for `pay-as-you-go`.",
                ))
                .attr(
                    Attribute::string_set("backends")
                        .optional()
                        .computed()
                        .check(Check::each(Check::pattern(&not_blank, "a backend name such as `ibm_torino`, or `ANY`")))
                        .describe("Backends the instance may use; IBM's default is `[\"ANY\"]`."),
                )
                .attr(Attribute::bool("purge_on_destroy").default(Value::Bool(false)).describe(
                    "Reclaim the instance at once on destroy instead of leaving it pending reclamation, so its resource group can be deleted.",
                ))
                .rule(Rule::exactly_one_of(&["plan", "plan_id"], "Name a plan such as \"open\" or \"pay-as-you-go\"."))
                .block(timeouts_block(&TIMEOUT_OPS)),
        )
    }

    fn validate(&self, config: &Model) -> Diagnostics {
        let mut diags = Diagnostics::new();
        // Whether a name is a plan is checked against the Global Catalog in modify_plan: validate
        // runs in an unconfigured provider.
        let effective = config.plan.as_deref().or_else(|| config.plan_id.as_deref().and_then(built_in_name));
        // A region outside QISKIT_REGIONS is the declared check's error.
        if let Some(region) = config.region.as_deref().filter(|r| QISKIT_REGIONS.contains(r)) {
            check_qiskit_region(region, effective, "", &mut diags);
        }
        if effective.is_some_and(is_pay_as_you_go) && !config.usage_allocation_seconds.is_null() {
            diags.add_attr_error(
                AttributePath::attr("usage_allocation_seconds"),
                "Allocation does not apply",
                "usage_allocation_seconds is for Flex and Premium instances; a pay-as-you-go instance has no allocation. Use instance_limit_seconds to cap its cost.",
            );
        }
        diags
    }

    async fn modify_plan(&self, ctx: &Ctx<ProviderState>, plan: &mut Plan<Model>) -> OpResult<()> {
        let state = ctx.provider()?;
        plan_default_region(state, plan)?;
        // Keep plan and plan_id in step: the one the user wrote decides, the other follows. The
        // four current plans are built in; other names and IDs go through the Global Catalog
        // (cached per process), unless state already binds the same name to its ID.
        if let Tf::Known(name) = &plan.config.plan {
            plan.planned.plan_id = Tf::Known(plan_id_for_name(state, name, plan.prior.as_ref()).await?);
        } else if plan.config.plan.is_unknown() {
            plan.planned.plan_id = Tf::Unknown;
        } else if let Tf::Known(id) = &plan.config.plan_id {
            plan.planned.plan = plan_name_for_id(ctx, id, plan.prior.as_ref()).await?;
        } else if plan.config.plan_id.is_unknown() {
            plan.planned.plan = Tf::Unknown;
        }
        let Some(prior) = &plan.prior else { return Ok(()) };
        if prior.plan_id == plan.planned.plan_id || !plan.requires_replace.is_empty() {
            return Ok(());
        }
        if !plan.planned.plan_id.is_unknown() && !plan_change_in_place(plan.planned.plan.as_deref()) {
            let which = if plan.config.plan.is_null() { "plan_id" } else { "plan" };
            // The framework then plans what IBM computes for the new instance as unknown.
            plan.requires_replace.push(AttributePath::attr(which));
        }
        // What IBM applies may differ under another plan: unconfigured settings become unknown.
        let (config, planned) = (&plan.config, &mut plan.planned);
        if config.instance_limit_seconds.is_null() {
            planned.instance_limit_seconds = Tf::Unknown;
        }
        if config.usage_allocation_seconds.is_null() {
            planned.usage_allocation_seconds = Tf::Unknown;
        }
        if config.backends.is_null() {
            planned.backends = Tf::Unknown;
        }
        Ok(())
    }

    async fn create(&self, ctx: &Ctx<ProviderState>, planned: Model, _config: Model) -> OpResult<Model> {
        let state = ctx.provider()?;
        let client = &state.client;
        let name = planned.name.require("name")?;
        let doing = format!("creating Qiskit Runtime instance {name}");
        let plan_id = plan_id_to_send(state, &planned).await?;
        let resource_group = match planned.resource_group_id.known() {
            Some(id) => id.clone(),
            None => super::default_group_id(client, &doing).await?,
        };
        let request = NewResourceInstance {
            name: name.clone(),
            // Unknown at apply only on a replacement the plan decided on (the framework then
            // plans it unknown): an unset region is the provider's.
            target: planned.region.known().cloned().unwrap_or_else(|| state.region.clone()),
            resource_group,
            resource_plan_id: plan_id,
            parameters: parameters_of(&planned, None),
        };
        let created = client.create_resource_instance(&request).await.context(&doing)?;
        // The plan's name is informational here: a failed lookup leaves it null rather than
        // failing a create that happened (the next read fills it in).
        let plan_name = plan_name_for_state(state, &created.resource_plan_id, &planned).await.ok().flatten();
        // Tags are not attached yet: state says so until they are.
        let mut result = Model::from_instance(&created, &[], &planned, plan_name.clone());
        ctx.save(&result);
        let timeout = planned.timeouts.limit("create", DEFAULT_TIMEOUT);
        let active = wait_until(ctx, client, &created.guid, timeout, "active", |i| i.state == "active").await?;
        result = Model::from_instance(&active, &[], &planned, plan_name);
        ctx.save(&result);
        let configured_tags: Vec<String> = lower(known_set(&planned.tags).as_ref()).into_iter().collect();
        if !configured_tags.is_empty() {
            client.attach_tags(&active.crn, &configured_tags).await.context(format_args!("{doing}: attaching tags"))?;
        }
        result.tags = planned.tags.clone();
        Ok(result)
    }

    async fn read(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<Option<Model>> {
        let Some(id) = prior.crn.known().or(prior.id.known()).cloned() else { return Ok(None) };
        let state = ctx.provider()?;
        let doing = format!("reading Qiskit Runtime instance {}", prior.name.as_deref().unwrap_or(&id));
        // Deleted (removed, or waiting for reclamation) counts as gone: the next plan creates it.
        let Some(instance) = state.client.get_resource_instance(&id).await.context(&doing)?.filter(|i| !i.is_deleted()) else {
            return Ok(None);
        };
        let tags = state.client.list_attached_tags(&instance.crn).await.context(format_args!("{doing}: listing its tags"))?;
        let plan = plan_name_for_state(state, &instance.resource_plan_id, &prior)
            .await
            .context(format_args!("{doing}: looking up its plan in the Global Catalog"))?;
        Ok(Some(Model::from_instance(&instance, &tags, &prior, plan)))
    }

    async fn update(&self, ctx: &Ctx<ProviderState>, prior: Model, planned: Model, _config: Model) -> OpResult<Model> {
        let state = ctx.provider()?;
        let client = &state.client;
        let Some(crn) = prior.crn.known().cloned() else {
            return Err(OpError::new("Instance has no CRN", "the state of this instance has no CRN; import it again"));
        };
        let name = planned.name.require("name")?;
        let doing = format!("updating Qiskit Runtime instance {name}");
        let mut update = InstanceUpdate::default();
        if planned.name != prior.name {
            update.name = Some(name.clone());
        }
        let new_plan_id = plan_id_to_send(state, &planned).await?;
        if prior.plan_id.as_deref() != Some(new_plan_id.as_str()) {
            update.resource_plan_id = Some(new_plan_id.clone());
        }
        let mut parameters = parameters_of(&planned, Some(&prior));
        if !parameters.is_empty() {
            parameters.insert("timestamp".into(), json!(dedup_timestamp()));
            update.parameters = Some(parameters);
        }
        // Until IBM shows the change, a failure keeps the prior state with the new
        // purge_on_destroy and timeouts, which need no request.
        let mut current = Model { purge_on_destroy: planned.purge_on_destroy.clone(), timeouts: planned.timeouts.clone(), ..prior.clone() };
        ctx.save(&current);
        if !update.is_empty() {
            client.update_resource_instance(&crn, &update).await.context(&doing)?;
            let timeout = planned.timeouts.limit("update", DEFAULT_TIMEOUT);
            let (want_name, want_plan_id) = (name.clone(), new_plan_id.clone());
            let (want_limit, want_allocation) = (seconds(&planned.instance_limit_seconds), seconds(&planned.usage_allocation_seconds));
            let want_backends = known_set(&planned.backends);
            let shows_change = move |i: &ResourceInstance| {
                i.state == "active"
                    && i.name == want_name
                    && want_plan_id == i.resource_plan_id
                    && want_limit.is_none_or(|n| i.extension_u64("instance_limit_seconds") == Some(n))
                    && want_allocation.is_none_or(|n| i.extension_u64("usage_allocation_seconds") == Some(n))
                    && want_backends
                        .as_ref()
                        .is_none_or(|b| i.extension_strings("backends").map(|x| x.into_iter().collect::<BTreeSet<_>>()).as_ref() == Some(b))
            };
            let changed = wait_until(ctx, client, &crn, timeout, "showing the change", shows_change).await?;
            let plan_name = plan_name_for_state(state, &changed.resource_plan_id, &planned).await.ok().flatten();
            current = Model { tags: prior.tags.clone(), ..Model::from_instance(&changed, &[], &planned, plan_name) };
            ctx.save(&current);
        }
        // Tags: detach what went, attach what came (compared as IBM stores them).
        let (before, after) = (lower(known_set(&prior.tags).as_ref()), lower(known_set(&planned.tags).as_ref()));
        let gone: Vec<String> = before.difference(&after).cloned().collect();
        let added: Vec<String> = after.difference(&before).cloned().collect();
        client.detach_tags(&crn, &gone).await.context(format_args!("{doing}: detaching tags"))?;
        client.attach_tags(&crn, &added).await.context(format_args!("{doing}: attaching tags"))?;
        current.tags = planned.tags.clone();
        Ok(current)
    }

    async fn delete(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<()> {
        let Some(crn) = prior.crn.known().cloned() else { return Ok(()) };
        let client = &ctx.provider()?.client;
        let doing = format!("deleting Qiskit Runtime instance {}", prior.name.as_deref().unwrap_or(&crn));
        client.delete_resource_instance(&crn).await.context(&doing)?;
        let timeout = prior.timeouts.limit("delete", DEFAULT_TIMEOUT);
        let deleted = wait_gone(ctx, client, &crn, timeout, |i| i.is_deleted()).await.context(&doing)?;
        if !prior.purge_on_destroy() {
            return Ok(());
        }
        let Some(guid) = deleted.map(|i| i.guid).or(prior.guid.known().cloned()) else { return Ok(()) };
        client.purge_instance(&ctx.cancel, &crn, &guid, timeout, "purge_on_destroy").await.context(format_args!("{doing}: purging it"))
    }

    /// The import ID is the instance's CRN or GUID; state's ID is the CRN.
    async fn import(&self, ctx: &Ctx<ProviderState>, id: &str, _stub: Model) -> OpResult<Option<Model>> {
        let state = ctx.provider()?;
        let doing = format!("importing Qiskit Runtime instance {id}");
        let Some(instance) = state.client.get_resource_instance(id).await.context(&doing)? else { return Ok(None) };
        if instance.is_deleted() {
            return Err(OpError::new(
                "Instance deleted",
                format!("{doing}: the instance is {}, so there is nothing to import.", instance.state),
            ));
        }
        if instance.resource_id != QUANTUM_RESOURCE_ID {
            return Err(OpError::new(
                "Not a Qiskit Runtime instance",
                format!("{doing}: it is an instance of another service ({}).", instance.resource_id),
            ));
        }
        let tags = state.client.list_attached_tags(&instance.crn).await.context(format_args!("{doing}: listing its tags"))?;
        let plan = plan_name_for_state(state, &instance.resource_plan_id, &Model::default())
            .await
            .context(format_args!("{doing}: looking up its plan in the Global Catalog"))?;
        Ok(Some(Model::from_instance(&instance, &tags, &Model::default(), plan)))
    }

    fn import_not_found(&self, id: &str) -> OpError {
        OpError::new(
            "Instance not found",
            format!("importing Qiskit Runtime instance {id}: no instance has this CRN or GUID. Import takes the instance's CRN (crn:v1:bluemix:public:quantum-computing:…) or GUID."),
        )
    }
}

/// The catalog ID of a plan name that is not built in; an unknown name is an error on `plan`
/// that lists the names the catalog offers.
async fn catalog_plan_id(state: &ProviderState, name: &str) -> OpResult<String> {
    let catalog = &state.plan_catalog;
    let doing = format!("looking up plan {name:?} in the Global Catalog");
    if let Some(id) = catalog.id_of(&state.client, name).await.context(&doing)? {
        return Ok(id);
    }
    let names = catalog.names(&state.client).await.context(&doing)?;
    Err(OpError::at(
        AttributePath::attr("plan"),
        "Unknown plan",
        format!("{name:?} is not a Qiskit Runtime plan; use one of {}, or give plan_id.", names.join(", ")),
    ))
}

/// Reads the instance until `ready` holds (404 = not visible yet), within `timeout`.
async fn wait_until(
    ctx: &Ctx<ProviderState>,
    client: &Client,
    id: &str,
    timeout: Duration,
    what: &str,
    ready: impl Fn(&ResourceInstance) -> bool,
) -> OpResult<ResourceInstance> {
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
    .context(format_args!("waiting for instance {id}"))
}

/// Reads the instance until it is deleted as `done` says (404 counts as done too).
async fn wait_gone(
    ctx: &Ctx<ProviderState>,
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

/// The filters of `list "ibmqr_instance"`.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ListFilter {
    region: Tf<String>,
    resource_group_id: Tf<String>,
}

#[async_trait]
impl ListResource<ProviderState> for Instance {
    type Filter = ListFilter;

    fn list_schema() -> Schema {
        Schema::new(
            0,
            Block::new("The account's Qiskit Runtime instances, except deleted ones and those waiting for reclamation.")
                .attr(Attribute::string("region").optional().describe("Only instances in this region, such as `us-east`."))
                .attr(Attribute::string("resource_group_id").optional().describe("Only instances in this resource group (its ID).")),
        )
    }

    async fn list(&self, ctx: &Ctx<ProviderState>, request: ListRequest<ListFilter>) -> OpResult<Vec<Listed<Model>>> {
        let state = ctx.provider()?;
        let group = request.filter.resource_group_id.into_option();
        let filter = InstanceFilter { resource_id: Some(QUANTUM_RESOURCE_ID), resource_group_id: group.as_deref(), ..Default::default() };
        let instances = state.client.list_resource_instances(&filter).await.context("listing the account's Qiskit Runtime instances")?;
        let region = request.filter.region.into_option();
        let mut wanted: Vec<&ResourceInstance> = instances
            .iter()
            .filter(|i| !i.is_deleted() && i.resource_id == QUANTUM_RESOURCE_ID && region.as_ref().is_none_or(|r| *r == i.region_id))
            .collect();
        wanted.sort_by(|a, b| (&a.name, &a.crn).cmp(&(&b.name, &b.crn)));
        wanted.truncate(request.limit);
        let mut listed = Vec::with_capacity(wanted.len());
        for instance in wanted {
            let doing = format!("listing Qiskit Runtime instance {}", instance.name);
            // Tags and the plan's name cost requests that only the state needs; the identity is the CRN.
            let (tags, plan) = if request.include_resource {
                let tags = state.client.list_attached_tags(&instance.crn).await.context(format_args!("{doing}: listing its tags"))?;
                let plan = plan_name_for_state(state, &instance.resource_plan_id, &Model::default())
                    .await
                    .context(format_args!("{doing}: looking up its plan in the Global Catalog"))?;
                (tags, plan)
            } else {
                (vec![], None)
            };
            listed.push(Listed {
                display_name: format!("{} ({})", instance.name, instance.region_id),
                state: Model::from_instance(instance, &tags, &Model::default(), plan),
            });
        }
        Ok(listed)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::framework::{from_value, resource, to_value, AnyResource};

    fn instance() -> Arc<dyn AnyResource<ProviderState>> {
        resource::<ProviderState, _>(Instance)
    }

    fn value(json: serde_json::Value) -> Value {
        Value::from_json(&json, instance().value_type()).expect("value")
    }

    fn model(json: serde_json::Value) -> Model {
        from_value(&value(json)).expect("model")
    }

    fn paths(d: &Diagnostics) -> Vec<String> {
        d.0.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect()
    }

    /// A provider configured for `region` (no request is made).
    fn provider_in(region: &str) -> ProviderState {
        let endpoints = ibmcloud::Endpoints::uniform("http://127.0.0.1:1").expect("endpoints");
        let config = ibmcloud::ClientConfig::new(ibmcloud::ApiKey::new("k"), endpoints);
        let client = Client::new(config, tokio_util::sync::CancellationToken::new()).expect("client");
        ProviderState::new(client, region.into())
    }

    fn plan_of(prior: Option<serde_json::Value>, config_json: serde_json::Value) -> Plan<Model> {
        let config = model(config_json);
        Plan { prior: prior.map(model), planned: config.clone(), config, requires_replace: vec![], warnings: Diagnostics::new() }
    }

    #[test]
    fn region_comes_from_the_provider_when_not_set() {
        let mut plan = plan_of(None, json!({"name": "qr", "plan": "pay-as-you-go"}));
        plan_default_region(&provider_in("eu-de"), &mut plan).expect("planned");
        assert_eq!(plan.planned.region, Tf::Known("eu-de".to_string()));
        assert!(plan.requires_replace.is_empty(), "a create replaces nothing");

        // A written region wins over the provider's.
        let mut plan = plan_of(None, json!({"name": "qr", "plan": "pay-as-you-go", "region": "us-east"}));
        plan_default_region(&provider_in("eu-de"), &mut plan).expect("planned");
        assert_eq!(plan.planned.region, Tf::Known("us-east".to_string()));
    }

    #[tokio::test]
    async fn an_instance_in_another_region_than_its_providers_is_replaced() {
        let prior = value(
            json!({"id": "crn", "crn": "crn", "guid": "g", "name": "qr", "plan": "pay-as-you-go", "plan_id": BUILT_IN_PLANS[1].1, "region": "us-east", "purge_on_destroy": false}),
        );
        let config = value(json!({"name": "qr", "plan": "pay-as-you-go", "purge_on_destroy": null}));
        let ctx_in = |region: &str| Ctx::new(Some(Arc::new(provider_in(region))), tokio_util::sync::CancellationToken::new());
        let planned = instance().plan(&ctx_in("eu-de"), Some(&prior), &config, &prior).await.expect("planned");
        assert_eq!(planned.requires_replace, vec![AttributePath::attr("region")]);
        assert!(planned.planned.get("crn").expect("crn").is_unknown(), "a new instance gets a new CRN");

        let planned = instance().plan(&ctx_in("us-east"), Some(&prior), &config, &prior).await.expect("planned");
        assert!(planned.requires_replace.is_empty(), "same region: no replacement");
    }

    #[test]
    fn the_providers_region_is_checked_like_a_written_one() {
        let mut plan = plan_of(None, json!({"name": "qr", "plan": "open"}));
        let d = plan_default_region(&provider_in("eu-de"), &mut plan).expect_err("open is not in eu-de").diagnostics;
        assert_eq!(paths(&d), vec!["region"]);
        assert!(d.0[0].detail.contains("(the provider's region)"), "{d:?}");

        let mut plan = plan_of(None, json!({"name": "qr", "plan": "flex"}));
        let d = plan_default_region(&provider_in("us-south"), &mut plan).expect_err("no Qiskit region").diagnostics;
        assert_eq!(paths(&d), vec!["region"]);
        assert!(d.0[0].detail.contains("\"us-south\" (the provider's region)"), "{d:?}");
    }

    #[test]
    fn validate_names_the_attribute() {
        let validate = |json| instance().validate(&value(json));
        let d = validate(json!({"name": "qr", "plan": "open", "region": "eu-de"}));
        assert_eq!(paths(&d), vec!["region"]);
        let d = validate(json!({"name": "qr", "plan": "pay-as-you-go", "region": "us-east", "usage_allocation_seconds": 60}));
        assert_eq!(paths(&d), vec!["usage_allocation_seconds"]);
        let d = validate(json!({"name": "qr", "plan": " ", "region": "us-east"}));
        assert_eq!(paths(&d), vec!["plan"]);
        // Names are checked against the catalog at plan time, not here.
        assert!(!validate(json!({"name": "qr", "plan": "lite", "region": "us-east"})).has_errors());
        let d = validate(json!({"name": "qr", "plan": "paygo-standard", "region": "us-east", "usage_allocation_seconds": 60}));
        assert_eq!(paths(&d), vec!["usage_allocation_seconds"], "paygo-standard is pay-as-you-go");
        let d = validate(json!({"name": "qr", "plan_id": BUILT_IN_PLANS[0].1, "region": "eu-de"}));
        assert_eq!(paths(&d), vec!["region"], "plan_id of the open plan counts as open");
        let d = validate(json!({"name": "qr", "plan": "flex", "region": "us-east", "tags": ["a,b"], "usage_allocation_seconds": 1.5}));
        assert_eq!(paths(&d), vec!["tags", "usage_allocation_seconds"]);
        assert!(!validate(json!({"name": "qr", "plan": "flex", "region": "eu-de", "usage_allocation_seconds": 60})).has_errors());
        let d = validate(json!({"name": "qr", "region": "us-east"}));
        assert_eq!(paths(&d), vec!["plan"], "no plan");
        let d = validate(json!({"name": "qr", "plan": "open", "plan_id": "x", "region": "us-east"}));
        assert_eq!(paths(&d), vec!["plan_id"], "both plan and plan_id");
        let d = validate(json!({"name": "qr", "plan": "open", "region": "us-south"}));
        assert_eq!(paths(&d), vec!["region"], "not a Qiskit region");
        let d = validate(json!({"name": "q/r", "plan": "open", "backends": [" "], "instance_limit_seconds": -1}));
        assert_eq!(paths(&d), vec!["name", "instance_limit_seconds", "backends"]);
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
        let prior = model(json!({"name": "qr", "instance_limit_seconds": 600, "backends": ["ANY"]}));
        let now = model(json!({"name": "qr", "instance_limit_seconds": 900, "backends": ["ANY"]}));
        assert_eq!(serde_json::Value::Object(parameters_of(&now, Some(&prior))), json!({"instance_limit_seconds": "900"}));
        assert_eq!(serde_json::Value::Object(parameters_of(&now, None)), json!({"instance_limit_seconds": "900", "backends": ["ANY"]}));
    }

    #[test]
    fn a_model_round_trips_through_a_value() {
        let state =
            model(json!({"id": "crn", "name": "qr", "tags": ["Env:Dev"], "instance_limit_seconds": 600, "timeouts": {"create": "20m"}}));
        let back: Model = from_value(&to_value(&state, instance().value_type()).expect("encodes")).expect("decodes");
        assert_eq!(back, state);
        assert_eq!(back.timeouts.limit("create", DEFAULT_TIMEOUT), Duration::from_secs(1200));
    }
}
