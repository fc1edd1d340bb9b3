//! `ibmqr_access_group_policy`: an IAM access policy granting an access group roles on a service's
//! instances (IAM Policy Management `/v1/policies`).
//!
//! Roles are written as names (`Viewer`, `Reader`, a custom role's name) or CRNs; IBM always gets
//! CRNs, resolved through the role catalog. State keeps the user's form when it names the role IBM
//! returns; import writes platform and service roles by name and custom roles by CRN.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::framework::legacy::{state_from, Ctx, Plan, Resource, StateResult};
use crate::framework::{
    from_value, from_value_with_unknowns, to_value, Attribute, AttributePath, Block, Diagnostics, NestedBlock, Schema, Tf, Value,
};
use crate::ibmcloud::{self, poll_until, Policy, PolicyAttribute, PolicyBody, Poll, RoleList};

use super::{legacy_wait_until_visible, provider_and, provider_and_both};
use crate::configured::role_catalog::closest;
use crate::configured::{api_error, provider, ProviderState};

pub const TYPE_NAME: &str = "ibmqr_access_group_policy";
const DEFAULT_SERVICE: &str = "quantum-computing";
/// How long a new or changed policy may take to show up in reads (IBM is eventually consistent;
/// terraform-provider-ibm waits 5 minutes too).
const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(300);
/// How long apply waits for a role that is not listed yet (a custom role created moments ago).
const ROLE_TIMEOUT: Duration = Duration::from_secs(120);

pub struct AccessGroupPolicy;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Model {
    id: Option<String>,
    access_group_id: String,
    roles: BTreeSet<String>,
    resource: Vec<ResourceModel>,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
struct ResourceModel {
    service: Option<String>,
    instance_id: Option<String>,
    resource_group_id: Option<String>,
}

impl Model {
    fn scope(&self) -> ResourceModel {
        self.resource.first().cloned().unwrap_or_default()
    }
    fn service(&self) -> String {
        self.scope().service.unwrap_or_else(|| DEFAULT_SERVICE.to_string())
    }
}

/// Plan-time view: any attribute may still be unknown.
#[derive(Deserialize)]
struct PlanModel {
    roles: Tf<Vec<Tf<String>>>,
    resource: Tf<Vec<PlanScope>>,
}

#[derive(Deserialize)]
struct PlanScope {
    service: Tf<String>,
}

fn encode(model: &Model) -> Result<Value, Diagnostics> {
    Ok(to_value(model, &AccessGroupPolicy.schema().value_type())?)
}

/// The GUID of an instance given as GUID or CRN (`crn:v1:bluemix:public:<service>:<region>:a/<acct>:<guid>::`).
fn instance_guid(instance: &str) -> Option<&str> {
    if instance.starts_with("crn:") {
        instance.split(':').nth(7).filter(|g| !g.is_empty())
    } else {
        Some(instance)
    }
}

fn guid_pattern() -> regex::Regex {
    // Fixed pattern: cannot fail to compile.
    regex::Regex::new(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$").unwrap_or_else(|_| unreachable!())
}

/// True for a platform or service role CRN (`...::role:Viewer`, `...::serviceRole:Reader`).
fn is_builtin_crn(crn: &str) -> bool {
    crn.starts_with("crn:") && (crn.contains("::role:") || crn.contains("::serviceRole:")) && !crn.contains("::customRole:")
}

/// The name of a platform or service role CRN: its last segment.
fn builtin_name(crn: &str) -> Option<&str> {
    is_builtin_crn(crn).then(|| crn.rsplit(':').next()).flatten().filter(|n| !n.is_empty())
}

/// Role names and CRNs of one service, as the role catalog lists them.
struct RoleIndex {
    by_name: HashMap<String, String>,
    crns: BTreeSet<String>,
    /// Platform and service role names, for messages.
    builtin_names: Vec<String>,
    custom_names: Vec<String>,
}

impl RoleIndex {
    fn new(list: &RoleList) -> Self {
        let mut by_name = HashMap::new();
        let mut crns = BTreeSet::new();
        // Custom roles first, so a platform or service role of the same name wins.
        for role in &list.custom_roles {
            by_name.insert(role.display_name.clone(), role.crn.clone());
            by_name.insert(role.name.clone(), role.crn.clone());
            crns.insert(role.crn.clone());
        }
        let mut builtin_names = Vec::new();
        for role in list.system_roles.iter().chain(&list.service_roles) {
            by_name.insert(role.display_name.clone(), role.crn.clone());
            crns.insert(role.crn.clone());
            builtin_names.push(role.display_name.clone());
        }
        let custom_names = list.custom_roles.iter().map(|r| r.name.clone()).collect();
        RoleIndex { by_name, crns, builtin_names, custom_names }
    }

    fn resolve(&self, role: &str) -> Option<String> {
        if role.starts_with("crn:") {
            self.crns.contains(role).then(|| role.to_string())
        } else {
            self.by_name.get(role).cloned()
        }
    }

    fn valid_names(&self) -> String {
        let mut names = self.builtin_names.clone();
        names.extend(self.custom_names.iter().cloned());
        names.join(", ")
    }

    /// A platform or service role the unknown name `role` most likely misspells: equal ignoring
    /// case, or a small edit away. Anything else may be a custom role that does not exist yet.
    fn misspelt_builtin(&self, role: &str) -> Option<&String> {
        let lower = role.to_lowercase();
        self.builtin_names.iter().find(|b| {
            let b = b.to_lowercase();
            let allowed = (b.chars().count() / 4).max(1);
            b == lower || strsim::levenshtein(&b, &lower) <= allowed
        })
    }
}

/// Resolves every role to its CRN. Roles not listed trigger one re-fetch of the catalog, then a
/// bounded wait (a custom role created earlier in the same apply may not be listed yet).
async fn resolve_roles(ctx: &Ctx, state: &ProviderState, service: &str, roles: &BTreeSet<String>) -> Result<Vec<String>, Diagnostics> {
    let client = &state.client;
    let doing = format!("listing the roles of service {service}");
    let list = state.roles.roles(client, service).await.map_err(|e| api_error(&doing, &e))?;
    let attempt = |list: &RoleList| -> Result<Vec<String>, Vec<String>> {
        let index = RoleIndex::new(list);
        let (found, missing): (Vec<_>, Vec<_>) = roles.iter().map(|r| index.resolve(r).ok_or_else(|| r.clone())).partition(Result::is_ok);
        if missing.is_empty() {
            let crns: BTreeSet<String> = found.into_iter().flatten().collect();
            Ok(crns.into_iter().collect())
        } else {
            Err(missing.into_iter().filter_map(Result::err).collect())
        }
    };
    if let Ok(crns) = attempt(&list) {
        return Ok(crns);
    }
    let roles_catalog = &state.roles;
    let attempt = &attempt;
    let what = format!("roles of service {service} to be listed");
    poll_until(&ctx.cancel, ROLE_TIMEOUT, &what, || async move {
        let list = roles_catalog.refresh(client, service).await?;
        Ok(match attempt(&list) {
            Ok(crns) => Poll::Ready(crns),
            Err(missing) => Poll::Pending(format!("not listing {}", missing.join(", "))),
        })
    })
    .await
    .map_err(|e| {
        Diagnostics::attr_error(
            AttributePath::attr("roles"),
            "Unknown role",
            format!("resolving the roles of the policy: {e}. Use a platform or service role name (such as Viewer or Reader), a custom role's name or its crn."),
        )
    })
}

/// The policy's roles in the user's form where it names the same role, else canonical
/// (platform/service roles by name, custom roles by CRN).
async fn roles_in_user_form(state: &ProviderState, service: &str, policy: &Policy, prior: &BTreeSet<String>) -> BTreeSet<String> {
    let mut remaining: Vec<(String, Option<String>)> = policy.roles.iter().map(|r| (r.role_id.clone(), r.display_name.clone())).collect();
    let mut out = BTreeSet::new();
    let mut unmatched = Vec::new();
    for wanted in prior {
        let hit = remaining.iter().position(|(crn, _)| crn == wanted || builtin_name(crn) == Some(wanted.as_str()));
        match hit {
            Some(i) => {
                remaining.remove(i);
                out.insert(wanted.clone());
            }
            None => unmatched.push(wanted.clone()),
        }
    }
    if !unmatched.is_empty() && !remaining.is_empty() {
        // Names the CRN does not spell (custom roles, display names): ask the catalog.
        if let Ok(list) = state.roles.roles(&state.client, service).await {
            let mut index = RoleIndex::new(&list);
            if unmatched.iter().any(|u| index.resolve(u).is_none()) {
                if let Ok(list) = state.roles.refresh(&state.client, service).await {
                    index = RoleIndex::new(&list);
                }
            }
            for wanted in unmatched {
                let Some(crn) = index.resolve(&wanted) else { continue };
                if let Some(i) = remaining.iter().position(|(c, _)| *c == crn) {
                    remaining.remove(i);
                    out.insert(wanted);
                }
            }
        }
    }
    for (crn, display) in remaining {
        let name = builtin_name(&crn).map(|n| display.filter(|d| !d.is_empty()).unwrap_or_else(|| n.to_string()));
        out.insert(name.unwrap_or(crn));
    }
    out
}

/// State for `policy`; `prior` (when refreshing) supplies the user's forms.
async fn model_from_policy(state: &ProviderState, policy: &Policy, prior: Option<&Model>) -> Model {
    let service = policy.resource_attribute("serviceName").unwrap_or(DEFAULT_SERVICE).to_string();
    let empty = BTreeSet::new();
    let roles = roles_in_user_form(state, &service, policy, prior.map_or(&empty, |p| &p.roles)).await;
    let api_instance = policy.resource_attribute("serviceInstance").map(str::to_owned);
    let prior_instance = prior.and_then(|p| p.scope().instance_id);
    let instance_id = match (api_instance, prior_instance) {
        (Some(guid), Some(user)) if instance_guid(&user).is_some_and(|g| g.eq_ignore_ascii_case(&guid)) => Some(user),
        (api, _) => api,
    };
    Model {
        id: Some(policy.id.clone()),
        access_group_id: policy.access_group_id().unwrap_or_default().to_string(),
        roles,
        resource: vec![ResourceModel {
            service: Some(service),
            instance_id,
            resource_group_id: policy.resource_attribute("resourceGroupId").map(str::to_owned),
        }],
    }
}

/// The request body for `model`, with roles resolved to CRNs.
async fn policy_body(ctx: &Ctx, state: &ProviderState, model: &Model) -> Result<PolicyBody, Diagnostics> {
    let account_id = state.client.identity().await.map_err(|e| api_error("reading the account of the provider", &e))?.account_id;
    let service = model.service();
    let crns = resolve_roles(ctx, state, &service, &model.roles).await?;
    let scope = model.scope();
    let mut attributes = vec![PolicyAttribute::new("accountId", &account_id), PolicyAttribute::new("serviceName", &service)];
    if let Some(guid) = scope.instance_id.as_deref().and_then(instance_guid) {
        attributes.push(PolicyAttribute::new("serviceInstance", guid));
    }
    if let Some(group) = scope.resource_group_id.as_deref() {
        attributes.push(PolicyAttribute::new("resourceGroupId", group));
    }
    Ok(PolicyBody::for_access_group(&model.access_group_id, &crns, attributes))
}

fn role_crns(policy: &Policy) -> BTreeSet<String> {
    policy.roles.iter().map(|r| r.role_id.clone()).collect()
}

#[async_trait]
impl Resource for AccessGroupPolicy {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new("An IAM access policy granting an access group roles on a service's instances.")
                .attr(Attribute::string("id").computed().describe("The policy's ID."))
                .attr(
                    Attribute::string("access_group_id")
                        .required()
                        .force_new()
                        .describe("The access group the policy is for (`AccessGroupId-...`). Changing it replaces the policy."),
                )
                .attr(Attribute::string_set("roles").required().describe(
                    "Roles granted: platform roles (`Viewer`, `Operator`, `Editor`, `Administrator`), service roles (`Reader`, `Writer`, `Manager`), custom role names, or role CRNs such as a custom role's `crn`.",
                ))
                .block(
                    NestedBlock::list(
                        "resource",
                        Block::new("What the policy applies to. With neither `instance_id` nor `resource_group_id`: every instance of the service in the account.")
                            .attr(
                                Attribute::string("service")
                                    .default(Value::string(DEFAULT_SERVICE))
                                    .describe("The service, default `quantum-computing`."),
                            )
                            .attr(Attribute::string("instance_id").optional().describe("One instance, by GUID or CRN."))
                            .attr(Attribute::string("resource_group_id").optional().describe("Every instance of the service in this resource group.")),
                    )
                    .min_items(1)
                    .max_items(1),
                ),
        )
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        if let Some(Value::String(group)) = config.get("access_group_id") {
            if !group.starts_with("AccessGroupId-") {
                diags.add_attr_error(
                    AttributePath::attr("access_group_id"),
                    "Invalid access_group_id",
                    format!("{group:?} is not an access group ID; IDs look like \"AccessGroupId-<uuid>\" (the `id` of an access group)."),
                );
            }
        }
        if let Some(Value::Set(roles)) = config.get("roles") {
            if roles.is_empty() {
                diags.add_attr_error(
                    AttributePath::attr("roles"),
                    "No roles",
                    "A policy needs at least one role, e.g. [\"Viewer\", \"Reader\"].",
                );
            }
            if roles.iter().filter_map(Value::as_str).any(|r| r.trim().is_empty()) {
                diags.add_attr_error(AttributePath::attr("roles"), "Empty role", "Role names and CRNs must not be empty.");
            }
        }
        let Some(scope) = config.get("resource").and_then(|r| r.elements().first()) else { return diags };
        let at = |name: &str| AttributePath::attr("resource").then_index(0).then_attr(name);
        let instance = scope.get("instance_id").and_then(Value::as_str);
        let group = scope.get("resource_group_id").and_then(Value::as_str);
        let instance_set = scope.get("instance_id").is_some_and(|v| !v.is_null());
        let group_set = scope.get("resource_group_id").is_some_and(|v| !v.is_null());
        if instance_set && group_set {
            diags.add_attr_error(
                at("instance_id"),
                "Conflicting scope",
                "Set at most one of instance_id (one instance) and resource_group_id (all instances in a group); leave both out for every instance of the service.",
            );
        }
        if let Some(instance) = instance {
            match instance_guid(instance) {
                Some(guid) if guid_pattern().is_match(guid) => {
                    let crn_service = instance.starts_with("crn:").then(|| instance.split(':').nth(4)).flatten();
                    let service = scope.get("service").and_then(Value::as_str).unwrap_or(DEFAULT_SERVICE);
                    if let Some(crn_service) = crn_service.filter(|s| *s != service && scope.get("service").is_none_or(|v| !v.is_unknown())) {
                        diags.add_attr_error(
                            at("instance_id"),
                            "Instance of another service",
                            format!("the instance CRN is of service {crn_service:?}, but the policy's service is {service:?}."),
                        );
                    }
                }
                _ => diags.add_attr_error(
                    at("instance_id"),
                    "Invalid instance_id",
                    format!("{instance:?} is neither an instance GUID (8-4-4-4-12 hex digits) nor an instance CRN (crn:v1:bluemix:public:quantum-computing:<region>:a/<account>:<guid>::)."),
                ),
            }
        }
        if let Some(group) = group {
            if group.len() != 32 || !group.chars().all(|c| c.is_ascii_hexdigit()) {
                diags.add_attr_error(
                    at("resource_group_id"),
                    "Invalid resource_group_id",
                    format!("{group:?} is not a resource group ID (32 hexadecimal digits); use the group's `id`, not its name."),
                );
            }
        }
        diags
    }

    async fn modify_plan(&self, ctx: &Ctx, plan: &mut Plan) -> Diagnostics {
        let mut diags = Diagnostics::new();
        let Ok(model) = from_value_with_unknowns::<PlanModel>(&plan.planned) else { return diags };
        let Tf::Known(roles) = &model.roles else { return diags };
        let service = match &model.resource {
            Tf::Known(scopes) => match scopes.first().map(|s| &s.service) {
                Some(Tf::Known(s)) => s.clone(),
                Some(Tf::Unknown) => return diags,
                _ => DEFAULT_SERVICE.to_string(),
            },
            _ => return diags,
        };
        let known: Vec<&String> = roles.iter().filter_map(Tf::known).collect();
        if known.is_empty() {
            return diags;
        }
        let state = match provider(ctx) {
            Ok(s) => s,
            Err(d) => return d,
        };
        let list = match state.roles.roles(&state.client, &service).await {
            Ok(l) => l,
            Err(e) => return api_error(&format!("listing the roles of service {service}"), &e),
        };
        let index = RoleIndex::new(&list);
        if index.builtin_names.is_empty() {
            diags.add_attr_error(
                AttributePath::attr("resource").then_index(0).then_attr("service"),
                "Unknown service",
                format!(
                    "IBM Cloud lists no roles for service {service:?}; check the service name (Qiskit Runtime is \"quantum-computing\")."
                ),
            );
            return diags;
        }
        let mut seen: HashMap<String, &String> = HashMap::new();
        for role in known {
            if let Some(crn) = index.resolve(role) {
                if let Some(other) = seen.insert(crn.clone(), role) {
                    diags.add_attr_error(
                        AttributePath::attr("roles"),
                        "Duplicate role",
                        format!("{other:?} and {role:?} name the same role ({crn}); keep one of them."),
                    );
                }
                continue;
            }
            // A custom role's CRN is checked at apply, when roles created in the same run exist:
            // warning about it at every plan of a fresh configuration would only be noise.
            if is_custom_role_crn(role) {
                continue;
            }
            let builtin_typo = if role.starts_with("crn:") { is_builtin_crn(role) } else { index.misspelt_builtin(role).is_some() };
            if builtin_typo {
                let hint = closest(role, &index.builtin_names).map(|c| format!(" Did you mean {c:?}?")).unwrap_or_default();
                diags.add_attr_error(
                    AttributePath::attr("roles"),
                    "Unknown role",
                    format!(
                        "{role:?} is not a role of service {service}.{hint} Valid names: {}. A custom role created in this configuration can also be given by its crn.",
                        index.valid_names()
                    ),
                );
            } else {
                diags.add_attr_warning(
                    AttributePath::attr("roles"),
                    "Role not found yet",
                    format!(
                        "{role:?} is not a platform or service role of {service} nor a custom role of the account yet. If it is a custom role created in this apply, it is resolved then; otherwise the apply fails. Known roles: {}.",
                        index.valid_names()
                    ),
                );
            }
        }
        diags
    }

    async fn create(&self, ctx: &Ctx, planned: &Value, _config: &Value) -> StateResult {
        let (state, model) = match provider_and::<Model>(ctx, planned) {
            Ok(opened) => opened,
            Err(d) => return (None, d),
        };
        let body = match policy_body(ctx, state, &model).await {
            Ok(b) => b,
            Err(d) => return (None, d),
        };
        let created = match state.client.create_policy(&body).await {
            Ok((policy, _)) => policy,
            Err(e) => return (None, create_error(&model.access_group_id, &e)),
        };
        let result = Model { id: Some(created.id.clone()), ..model };
        // From here on the policy exists: every answer keeps it in state.
        if let Err(d) = wait_for_policy(ctx, &created.id, |_| true).await {
            return (encode(&result).ok(), d);
        }
        state_from(encode(&result))
    }

    async fn read(&self, ctx: &Ctx, state_value: &Value) -> Result<Option<Value>, Diagnostics> {
        let state = provider(ctx)?;
        let prior: Model = from_value(state_value)?;
        let Some(id) = prior.id.clone() else { return Ok(None) };
        let policy = match state.client.get_policy(&id).await {
            Ok(Some((policy, _))) if policy.state.as_deref() != Some("deleted") => policy,
            // Gone behind Terraform's back: drop it from state at once; the next plan recreates it.
            Ok(_) => return Ok(None),
            Err(e) => return Err(api_error(&format!("reading access group policy {id}"), &e)),
        };
        Ok(Some(encode(&model_from_policy(state, &policy, Some(&prior)).await)?))
    }

    async fn update(&self, ctx: &Ctx, prior_value: &Value, planned: &Value, _config: &Value) -> StateResult {
        let (state, prior, model) = match provider_and_both::<Model>(ctx, prior_value, planned) {
            Ok(opened) => opened,
            Err(d) => return (None, d),
        };
        let Some(id) = prior.id.clone() else {
            return (None, Diagnostics::error("Policy has no id", "the state of this policy has no id; import it again"));
        };
        let body = match policy_body(ctx, state, &model).await {
            Ok(b) => b,
            Err(d) => return (None, d),
        };
        if let Err(e) = replace_with_fresh_etag(state, &id, &body).await {
            return (None, create_error(&model.access_group_id, &e));
        }
        let expected: BTreeSet<String> = body.roles.iter().map(|r| r.role_id.clone()).collect();
        let wanted_resource = body.resources.first().map(|r| r.attributes.clone()).unwrap_or_default();
        let result = Model { id: Some(id.clone()), ..model };
        let ready = |p: &Policy| role_crns(p) == expected && p.resources.first().is_some_and(|r| same_set(&r.attributes, &wanted_resource));
        if let Err(d) = wait_for_policy(ctx, &id, ready).await {
            return (encode(&result).ok(), d);
        }
        state_from(encode(&result))
    }

    async fn delete(&self, ctx: &Ctx, prior_value: &Value) -> Diagnostics {
        let (state, prior) = match provider_and::<Model>(ctx, prior_value) {
            Ok(opened) => opened,
            Err(d) => return d,
        };
        let Some(id) = prior.id else { return Diagnostics::new() };
        // Already gone counts as deleted (the client treats 404 so).
        match state.client.delete_policy(&id).await {
            Ok(()) => Diagnostics::new(),
            Err(e) => api_error(&format!("deleting access group policy {id}"), &e),
        }
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Value, Diagnostics> {
        let state = provider(ctx)?;
        let policy = match state.client.get_policy(id).await {
            Ok(Some((policy, _))) if policy.state.as_deref() != Some("deleted") => policy,
            Ok(_) => {
                return Err(Diagnostics::error(
                    "Policy not found",
                    format!(
                    "no access policy has the id {id:?}. Import takes the policy ID (from `ibmcloud iam access-group-policies <group>`)."
                ),
                ))
            }
            Err(e) => return Err(api_error(&format!("importing access group policy {id}"), &e)),
        };
        if policy.access_group_id().is_none() {
            return Err(Diagnostics::error(
                "Not an access group policy",
                format!("policy {id} is not assigned to an access group (its subject is a user or service ID); ibmqr_access_group_policy manages access group policies only."),
            ));
        }
        encode(&model_from_policy(state, &policy, None).await)
    }
}

fn same_set(a: &[PolicyAttribute], b: &[PolicyAttribute]) -> bool {
    let key = |x: &PolicyAttribute| (x.name.clone(), x.value.clone());
    a.iter().map(key).collect::<BTreeSet<_>>() == b.iter().map(key).collect::<BTreeSet<_>>()
}

/// Replaces the policy with If-Match from a fresh read; a stale ETag is re-read and tried once more.
async fn replace_with_fresh_etag(state: &ProviderState, id: &str, body: &PolicyBody) -> Result<(), ibmcloud::Error> {
    let client = &state.client;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let etag = match client.get_policy(id).await? {
            Some((_, Some(etag))) => etag,
            Some((_, None)) => "*".to_string(),
            None => return Err(ibmcloud::Error::Config(format!("access group policy {id} no longer exists"))),
        };
        match client.replace_policy(id, &etag, body).await {
            Ok(_) => return Ok(()),
            Err(e) if ibmcloud::policy_conflict(&e).is_some() => return Err(e),
            // IBM documents neither 412 nor 409 for a stale ETag (UNCERTAIN): both mean re-read.
            Err(ibmcloud::Error::Api(api)) if (api.status == 412 || api.status == 409) && attempts < 2 => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Reads the policy until it is visible and `ready` holds, within the consistency bound.
async fn wait_for_policy(ctx: &Ctx, id: &str, ready: impl Fn(&Policy) -> bool) -> Result<Policy, Diagnostics> {
    let client = &provider(ctx)?.client;
    let get = || async move { client.get_policy(id).await.map(|found| found.map(|(policy, _etag)| policy)) };
    legacy_wait_until_visible(ctx, VISIBILITY_TIMEOUT, &format!("access group policy {id}"), get, ready).await
}

fn create_error(group: &str, err: &ibmcloud::Error) -> Diagnostics {
    if let Some(conflict) = ibmcloud::policy_conflict(err) {
        let existing = conflict.policy;
        let roles: Vec<&str> = existing.roles.iter().map(|r| r.display_name.as_deref().unwrap_or(r.role_id.as_str())).collect();
        return Diagnostics::error(
            "Policy already exists",
            format!(
                "access group {group} already has a policy for this resource (id {id}, roles {roles}). \
                 A group has one policy per resource: to manage it with Terraform, import it:\n  terraform import {TYPE_NAME}.<name> {id}\nor remove it first.",
                id = existing.id,
                roles = roles.join(", "),
            ),
        );
    }
    api_error(&format!("writing the policy of access group {group}"), err)
}

/// `crn:v1:ibmcloud:public:iam-access-management::a/<account>::customRole:<Name>`
fn is_custom_role_crn(role: &str) -> bool {
    role.starts_with("crn:v1:") && role.contains(":iam-access-management:") && role.contains("::customRole:")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ibmcloud::{CustomRole, Role};

    fn config(json: serde_json::Value) -> Value {
        Value::from_json(&json, &AccessGroupPolicy.schema().value_type()).expect("value")
    }

    fn paths(d: &Diagnostics) -> Vec<String> {
        d.0.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect()
    }

    #[test]
    fn validate_rejects_two_scopes_and_bad_ids() {
        let d = AccessGroupPolicy.validate(&config(serde_json::json!({
            "access_group_id": "AccessGroupId-1", "roles": ["Viewer"],
            "resource": [{"instance_id": "0b8a4c5e-1111-2222-3333-444455556666", "resource_group_id": "0123456789abcdef0123456789abcdef"}]
        })));
        assert_eq!(paths(&d), ["resource[0].instance_id"]);
        let d = AccessGroupPolicy.validate(&config(serde_json::json!({
            "access_group_id": "students", "roles": [],
            "resource": [{"instance_id": "not-a-guid", "resource_group_id": null}]
        })));
        assert_eq!(paths(&d), ["access_group_id", "roles", "resource[0].instance_id"]);
        let crn = "crn:v1:bluemix:public:quantum-computing:us-east:a/acct:0b8a4c5e-1111-2222-3333-444455556666::";
        let ok = config(serde_json::json!({"access_group_id": "AccessGroupId-1", "roles": ["Viewer"], "resource": [{"instance_id": crn}]}));
        assert!(!AccessGroupPolicy.validate(&ok).has_errors());
        assert_eq!(instance_guid(crn), Some("0b8a4c5e-1111-2222-3333-444455556666"));
    }

    fn roles() -> RoleList {
        let builtin = |name: &str, kind: &str| Role {
            display_name: name.into(),
            description: None,
            actions: vec![],
            crn: format!("crn:v1:bluemix:public:iam::::{kind}:{name}"),
        };
        RoleList {
            custom_roles: vec![CustomRole {
                id: "r1".into(),
                name: "QiskitUser".into(),
                display_name: "Qiskit user".into(),
                description: None,
                actions: vec![],
                crn: "crn:v1:ibmcloud:public:iam-access-management::a/acct::customRole:QiskitUser".into(),
                account_id: "acct".into(),
                service_name: "quantum-computing".into(),
                href: None,
                created_at: None,
                created_by_id: None,
                last_modified_at: None,
                last_modified_by_id: None,
            }],
            system_roles: vec![builtin("Viewer", "role"), builtin("Administrator", "role")],
            service_roles: vec![builtin("Reader", "serviceRole"), builtin("Manager", "serviceRole")],
        }
    }

    #[test]
    fn role_index_resolves_names_and_spots_typos() {
        let index = RoleIndex::new(&roles());
        assert_eq!(index.resolve("Viewer").as_deref(), Some("crn:v1:bluemix:public:iam::::role:Viewer"));
        assert_eq!(index.resolve("QiskitUser"), index.resolve("Qiskit user"));
        assert!(index.resolve("crn:v1:ibmcloud:public:iam-access-management::a/acct::customRole:QiskitUser").is_some());
        assert_eq!(index.misspelt_builtin("Viewr").map(String::as_str), Some("Viewer"));
        assert_eq!(index.misspelt_builtin("reader").map(String::as_str), Some("Reader"));
        assert!(index.misspelt_builtin("QiskitRuntimeUser").is_none());
        assert!(index.misspelt_builtin("ViewerPlus").is_none());
        assert!(index.valid_names().contains("Viewer, Administrator, Reader, Manager, QiskitUser"));
        assert_eq!(builtin_name("crn:v1:bluemix:public:iam::::serviceRole:Reader"), Some("Reader"));
        assert_eq!(builtin_name("crn:v1:ibmcloud:public:iam-access-management::a/acct::customRole:QiskitUser"), None);
    }
}
