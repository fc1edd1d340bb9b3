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

use crate::configured::role_catalog::closest;
use crate::configured::{api_error, ProviderState};
use crate::framework::{
    Attribute, AttributePath, Block, Check, Context, Ctx, Diagnostics, ListRequest, ListResource, Listed, NestedBlock, OpError, OpResult,
    Plan, Resource, Rule, Schema, Tf, Value,
};
use crate::ibmcloud::{self, poll_until, Client, Policy, PolicyAttribute, PolicyBody, Poll, RoleList};

use super::{is_stale_etag, wait_until_visible, write_with_fresh_etag};

pub const TYPE_NAME: &str = "ibmqr_access_group_policy";
const DEFAULT_SERVICE: &str = "quantum-computing";
/// How long a new or changed policy may take to show up in reads (IBM is eventually consistent;
/// terraform-provider-ibm waits 5 minutes too).
const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(300);
/// How long apply waits for a role that is not listed yet (a custom role created moments ago).
const ROLE_TIMEOUT: Duration = Duration::from_secs(120);
/// An instance GUID, or an instance CRN whose eighth segment is one
/// (`crn:v1:bluemix:public:<service>:<region>:a/<acct>:<guid>::`); see [`instance_guid`].
const INSTANCE_PATTERN: &str = r"(?s)^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|crn:(?:[^:]*:){6}[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?::.*)?)$";

/// Some character that is not whitespace (what `str::trim` removes); the regex build lacks `\S`.
const NOT_BLANK: &str = r"[^\t\n\x0B\x0C\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]";

pub struct AccessGroupPolicy;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Model {
    id: Tf<String>,
    access_group_id: Tf<String>,
    /// A set; a vector here so that single unknown elements survive the plan.
    roles: Tf<Vec<Tf<String>>>,
    /// Exactly one block; the list itself may be unknown at plan time (a `dynamic` block).
    resource: Tf<Vec<ResourceModel>>,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct ResourceModel {
    service: Tf<String>,
    instance_id: Tf<String>,
    resource_group_id: Tf<String>,
}

impl Model {
    fn scope(&self) -> ResourceModel {
        self.resource.known().and_then(|scopes| scopes.first()).cloned().unwrap_or_default()
    }
    fn service(&self) -> String {
        self.scope().service.into_option().unwrap_or_else(|| DEFAULT_SERVICE.to_string())
    }
    /// The known roles, in order.
    fn role_names(&self) -> BTreeSet<String> {
        self.roles.known().into_iter().flatten().filter_map(Tf::known).cloned().collect()
    }
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

/// Resolves every role to its CRN. Roles not listed trigger one re-fetch of the catalog, then a
/// bounded wait (a custom role created earlier in the same apply may not be listed yet).
async fn resolve_roles(ctx: &Ctx<ProviderState>, service: &str, roles: &BTreeSet<String>) -> OpResult<Vec<String>> {
    let state = ctx.provider()?;
    let client = &state.client;
    let list = state.roles.roles(client, service).await.context(format_args!("listing the roles of service {service}"))?;
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
        OpError::at(
            AttributePath::attr("roles"),
            "Unknown role",
            format!("resolving the roles of the policy: {e}. Use a platform or service role name (such as Viewer or Reader), a custom role's name or its crn."),
        )
    })
}

/// State for `policy`; `prior` (when refreshing) supplies the user's forms.
async fn model_from_policy(state: &ProviderState, policy: &Policy, prior: &Model) -> Model {
    let service = policy.resource_attribute("serviceName").unwrap_or(DEFAULT_SERVICE).to_string();
    let roles = roles_in_user_form(state, &service, policy, &prior.role_names()).await;
    let api_instance = policy.resource_attribute("serviceInstance").map(str::to_owned);
    let prior_instance = prior.scope().instance_id.into_option();
    let instance_id = match (api_instance, prior_instance) {
        (Some(guid), Some(user)) if instance_guid(&user).is_some_and(|g| g.eq_ignore_ascii_case(&guid)) => Some(user),
        (api, _) => api,
    };
    Model {
        id: Tf::Known(policy.id.clone()),
        access_group_id: Tf::Known(policy.access_group_id().unwrap_or_default().to_string()),
        roles: Tf::Known(roles.into_iter().map(Tf::Known).collect()),
        resource: Tf::Known(vec![ResourceModel {
            service: Tf::Known(service),
            instance_id: instance_id.into(),
            resource_group_id: policy.resource_attribute("resourceGroupId").map(str::to_owned).into(),
        }]),
    }
}

/// The request body for `model`, with roles resolved to CRNs.
async fn policy_body(ctx: &Ctx<ProviderState>, model: &Model) -> OpResult<PolicyBody> {
    let client = &ctx.provider()?.client;
    let access_group_id = model.access_group_id.require("access_group_id")?;
    let account_id = client.identity().await.context("reading the account of the provider")?.account_id;
    let service = model.service();
    let crns = resolve_roles(ctx, &service, &model.role_names()).await?;
    let scope = model.scope();
    let mut attributes = vec![PolicyAttribute::new("accountId", &account_id), PolicyAttribute::new("serviceName", &service)];
    if let Some(guid) = scope.instance_id.as_deref().and_then(instance_guid) {
        attributes.push(PolicyAttribute::new("serviceInstance", guid));
    }
    if let Some(group) = scope.resource_group_id.as_deref() {
        attributes.push(PolicyAttribute::new("resourceGroupId", group));
    }
    Ok(PolicyBody::for_access_group(access_group_id, &crns, attributes))
}

fn role_crns(policy: &Policy) -> BTreeSet<String> {
    policy.roles.iter().map(|r| r.role_id.clone()).collect()
}

#[async_trait]
impl Resource<ProviderState> for AccessGroupPolicy {
    type Model = Model;
    const TYPE_NAME: &'static str = TYPE_NAME;

    fn schema() -> Schema {
        Schema::new(
            0,
            Block::new("An IAM access policy granting an access group roles on a service's instances.")
                .attr(Attribute::string("id").computed().describe("The policy's ID."))
                .attr(
                    Attribute::string("access_group_id")
                        .required()
                        .force_new()
                        .check(Check::prefix(&["AccessGroupId-"], "an access group ID"))
                        .describe("The access group the policy is for: the `id` of an access group."),
                )
                .attr(
                    Attribute::string_set("roles")
                        .required()
                        .check(Check::items(1, None))
                        .check(Check::each(Check::pattern(NOT_BLANK, "a role name or CRN, not blank")))
                        .describe(
                            "Roles granted: platform roles (`Viewer`, `Operator`, `Editor`, `Administrator`), service roles (`Reader`, `Writer`, `Manager`), custom role names, or role CRNs such as a custom role's `crn`.",
                        ),
                )
                .block(
                    NestedBlock::list(
                        "resource",
                        Block::new("What the policy applies to. With neither `instance_id` nor `resource_group_id`: every instance of the service in the account.")
                            .attr(Attribute::string("service").default(Value::string(DEFAULT_SERVICE)).describe("The service."))
                            .attr(
                                Attribute::string("instance_id")
                                    .optional()
                                    .check(Check::pattern(
                                        INSTANCE_PATTERN,
                                        "an instance GUID (8-4-4-4-12 hex digits) or an instance CRN (`crn:v1:bluemix:public:quantum-computing:<region>:a/<account>:<guid>::`)",
                                    ))
                                    .describe("One instance, by GUID or CRN."),
                            )
                            .attr(
                                Attribute::string("resource_group_id")
                                    .optional()
                                    .check(Check::pattern(
                                        "^[0-9a-fA-F]{32}$",
                                        "a resource group ID (32 hexadecimal digits): the group's `id`, not its name",
                                    ))
                                    .describe("Every instance of the service in this resource group."),
                            )
                            // This order puts the error on instance_id, where it has always been.
                            .rule(Rule::conflicts_with(&["resource_group_id", "instance_id"])),
                    )
                    .min_items(1)
                    .max_items(1),
                ),
        )
    }

    fn validate(&self, config: &Model) -> Diagnostics {
        let mut diags = Diagnostics::new();
        let Some(scope) = config.resource.known().and_then(|scopes| scopes.first()) else { return diags };
        let Tf::Known(instance) = &scope.instance_id else { return diags };
        // A malformed instance_id is reported by its declared check.
        if !instance_guid(instance).is_some_and(|guid| guid_pattern().is_match(guid)) || scope.service.is_unknown() {
            return diags;
        }
        let crn_service = instance.starts_with("crn:").then(|| instance.split(':').nth(4)).flatten();
        let service = scope.service.as_deref().unwrap_or(DEFAULT_SERVICE);
        if let Some(crn_service) = crn_service.filter(|s| *s != service) {
            diags.add_attr_error(
                AttributePath::attr("resource").then_index(0).then_attr("instance_id"),
                "Instance of another service",
                format!("the instance CRN is of service {crn_service:?}, but the policy's service is {service:?}."),
            );
        }
        diags
    }

    async fn modify_plan(&self, ctx: &Ctx<ProviderState>, plan: &mut Plan<Model>) -> OpResult<()> {
        keep_prior_instance_form(plan);
        let (Tf::Known(roles), Tf::Known(scopes)) = (&plan.planned.roles, &plan.planned.resource) else { return Ok(()) };
        let service = scopes.first().map_or(Tf::Null, |scope| scope.service.as_ref());
        if service.is_unknown() {
            return Ok(());
        }
        let service = service.known().map_or(DEFAULT_SERVICE, |s| s.as_str()).to_string();
        let known: Vec<&String> = roles.iter().filter_map(Tf::known).collect();
        if known.is_empty() {
            return Ok(());
        }
        let state = ctx.provider()?;
        let list = state.roles.roles(&state.client, &service).await.context(format_args!("listing the roles of service {service}"))?;
        let index = RoleIndex::new(&list);
        if index.builtin_names.is_empty() {
            return Err(OpError::at(
                AttributePath::attr("resource").then_index(0).then_attr("service"),
                "Unknown service",
                format!(
                    "IBM Cloud lists no roles for service {service:?}; check the service name (Qiskit Runtime is \"quantum-computing\")."
                ),
            ));
        }
        let mut errors = Diagnostics::new();
        let mut seen: HashMap<String, &String> = HashMap::new();
        for role in known {
            if let Some(crn) = index.resolve(role) {
                if let Some(other) = seen.insert(crn.clone(), role) {
                    errors.add_attr_error(
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
                errors.add_attr_error(
                    AttributePath::attr("roles"),
                    "Unknown role",
                    format!(
                        "{role:?} is not a role of service {service}.{hint} Valid names: {}. A custom role created in this configuration can also be given by its crn.",
                        index.valid_names()
                    ),
                );
            } else {
                plan.warnings.add_attr_warning(
                    AttributePath::attr("roles"),
                    "Role not found yet",
                    format!(
                        "{role:?} is not a platform or service role of {service} nor a custom role of the account yet. If it is a custom role created in this apply, it is resolved then; otherwise the apply fails. Known roles: {}.",
                        index.valid_names()
                    ),
                );
            }
        }
        errors.into_result()
    }

    async fn create(&self, ctx: &Ctx<ProviderState>, planned: Model, _config: Model) -> OpResult<Model> {
        let client = &ctx.provider()?.client;
        let body = policy_body(ctx, &planned).await?;
        let group = planned.access_group_id.require("access_group_id")?;
        let (created, _etag) = client.create_policy(&body).await.map_err(|e| create_error(group, &e))?;
        let policy = Model { id: Tf::Known(created.id.clone()), ..planned.clone() };
        // From here on the policy exists: every answer keeps it in state.
        ctx.save(&policy);
        wait_for_policy(ctx, &created.id, |_| true).await?;
        Ok(policy)
    }

    async fn read(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<Option<Model>> {
        let Tf::Known(id) = &prior.id else { return Ok(None) };
        let state = ctx.provider()?;
        let found = state.client.get_policy(id).await.context(format_args!("reading access group policy {id}"))?;
        // Gone behind Terraform's back: drop it from state at once; the next plan recreates it.
        let Some((policy, _etag)) = found.filter(|(policy, _)| policy.state.as_deref() != Some("deleted")) else { return Ok(None) };
        if policy.access_group_id().is_none() {
            // Only an import can name such a policy: the ones this resource makes are a group's.
            return Err(OpError::new(
                "Not an access group policy",
                format!("policy {id} is not assigned to an access group (its subject is a user or service ID); ibmqr_access_group_policy manages access group policies only."),
            ));
        }
        Ok(Some(model_from_policy(state, &policy, &prior).await))
    }

    async fn update(&self, ctx: &Ctx<ProviderState>, prior: Model, planned: Model, _config: Model) -> OpResult<Model> {
        let id = prior.id.require("id")?;
        let body = policy_body(ctx, &planned).await?;
        let group = planned.access_group_id.require("access_group_id")?;
        let Some(()) = replace_with_fresh_etag(&ctx.provider()?.client, id, &body).await.map_err(|e| create_error(group, &e))? else {
            let detail = format!("updating access group policy {id}: the policy no longer exists; the next plan creates it again.");
            return Err(OpError::new("Policy gone", detail));
        };
        let policy = Model { id: prior.id.clone(), ..planned };
        ctx.save(&policy);
        let expected: BTreeSet<String> = body.roles.iter().map(|r| r.role_id.clone()).collect();
        let wanted_resource = body.resources.first().map(|r| r.attributes.clone()).unwrap_or_default();
        let ready = |p: &Policy| role_crns(p) == expected && p.resources.first().is_some_and(|r| same_set(&r.attributes, &wanted_resource));
        wait_for_policy(ctx, id, ready).await?;
        Ok(policy)
    }

    async fn delete(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<()> {
        let Tf::Known(id) = &prior.id else { return Ok(()) };
        // Already gone counts as deleted (the client treats 404 so).
        ctx.provider()?.client.delete_policy(id).await.context(format_args!("deleting access group policy {id}"))
    }

    fn import_not_found(&self, id: &str) -> OpError {
        OpError::new(
            "Policy not found",
            format!("no access policy has the id {id:?}. Import takes the policy ID (from `ibmcloud iam access-group-policies <group>`)."),
        )
    }
}

/// IBM stores an instance scope as the GUID, so import writes the GUID, while a configuration often
/// names the instance by CRN (`ibmqr_instance.NAME.crn`). When state and configuration name the same
/// instance in the two forms, the plan keeps the state's form: Terraform accepts a planned value equal
/// to the prior one as the provider's judgement that both are the same, and nothing changes.
fn keep_prior_instance_form(plan: &mut Plan<Model>) {
    let Some(prior) = plan.prior.as_ref().and_then(|p| p.scope().instance_id.into_option()) else { return };
    let Tf::Known(scopes) = &mut plan.planned.resource else { return };
    let Some(Tf::Known(planned)) = scopes.first_mut().map(|scope| &mut scope.instance_id) else { return };
    let same_instance = matches!((instance_guid(&prior), instance_guid(planned)), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b));
    if same_instance {
        *planned = prior;
    }
}

fn same_set(a: &[PolicyAttribute], b: &[PolicyAttribute]) -> bool {
    let key = |x: &PolicyAttribute| (x.name.clone(), x.value.clone());
    a.iter().map(key).collect::<BTreeSet<_>>() == b.iter().map(key).collect::<BTreeSet<_>>()
}

/// Replaces the policy with If-Match from a fresh read (see [`write_with_fresh_etag`]). A replace
/// writes the whole policy, so what this resource does not manage (its `description`) is carried
/// over from the fresh read: another writer's change to it survives. None: the policy is gone.
async fn replace_with_fresh_etag(client: &Client, id: &str, body: &PolicyBody) -> Result<Option<()>, ibmcloud::Error> {
    let expected: BTreeSet<String> = body.roles.iter().map(|r| r.role_id.clone()).collect();
    let wanted_resource = body.resources.first().map(|r| r.attributes.clone()).unwrap_or_default();
    let shows_change =
        |p: &Policy| role_crns(p) == expected && p.resources.first().is_some_and(|r| same_set(&r.attributes, &wanted_resource));
    let write = |current: Policy, etag: String| async move {
        let body = PolicyBody { description: current.description.filter(|d| !d.is_empty()), ..body.clone() };
        client.replace_policy(id, &etag, &body).await.map(|_| ())
    };
    // A 409 that names a policy already covering the resource is no stale tag.
    let stale = |e: &ibmcloud::Error| ibmcloud::policy_conflict(e).is_none() && is_stale_etag(e);
    write_with_fresh_etag(|| client.get_policy(id), shows_change, write, stale).await
}

/// Reads the policy until it is visible and `ready` holds, within the consistency bound.
async fn wait_for_policy(ctx: &Ctx<ProviderState>, id: &str, ready: impl Fn(&Policy) -> bool) -> OpResult<Policy> {
    let client = &ctx.provider()?.client;
    let get = || async move { client.get_policy(id).await.map(|found| found.map(|(policy, _etag)| policy)) };
    wait_until_visible(ctx, VISIBILITY_TIMEOUT, &format!("access group policy {id}"), get, ready).await
}

fn create_error(group: &str, err: &ibmcloud::Error) -> OpError {
    if let Some(conflict) = ibmcloud::policy_conflict(err) {
        let existing = conflict.policy;
        let roles: Vec<&str> = existing.roles.iter().map(|r| r.display_name.as_deref().unwrap_or(r.role_id.as_str())).collect();
        return OpError::new(
            "Policy already exists",
            format!(
                "access group {group} already has a policy for this resource (id {id}, roles {roles}). \
                 A group has one policy per resource: to manage it with Terraform, import it:\n  terraform import {TYPE_NAME}.<name> {id}\nor remove it first.",
                id = existing.id,
                roles = roles.join(", "),
            ),
        );
    }
    api_error(&format!("writing the policy of access group {group}"), err).into()
}

/// `crn:v1:ibmcloud:public:iam-access-management::a/<account>::customRole:<Name>`
fn is_custom_role_crn(role: &str) -> bool {
    role.starts_with("crn:v1:") && role.contains(":iam-access-management:") && role.contains("::customRole:")
}

/// Whether this resource can state the policy: one access group subject, and one resource that
/// names a service plus at most an instance or a resource group. Others (a resource group's own
/// policy, wildcard operators) are left out of lists rather than imported wrong.
fn representable(policy: &Policy) -> bool {
    const ATTRIBUTES: [&str; 4] = ["accountId", "serviceName", "serviceInstance", "resourceGroupId"];
    let [resource] = policy.resources.as_slice() else { return false };
    let attributes_fit = resource
        .attributes
        .iter()
        .all(|a| ATTRIBUTES.contains(&a.name.as_str()) && a.operator.as_deref().is_none_or(|o| o == "stringEquals"));
    let scopes = ["serviceInstance", "resourceGroupId"].iter().filter(|n| policy.resource_attribute(n).is_some()).count();
    policy.subjects.len() == 1
        && policy.access_group_id().is_some()
        && policy.policy_type == "access"
        && policy.resource_attribute("serviceName").is_some()
        && attributes_fit
        && scopes <= 1
        && policy.state.as_deref() != Some("deleted")
}

/// The filters of `list "ibmqr_access_group_policy"`.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ListFilter {
    access_group_id: Tf<String>,
}

#[async_trait]
impl ListResource<ProviderState> for AccessGroupPolicy {
    type Filter = ListFilter;

    fn list_schema() -> Schema {
        super::group_contents_list_schema(
            "The access policies of access groups that this resource can state: a service, optionally narrowed to one instance or one resource group.",
        )
    }

    async fn list(&self, ctx: &Ctx<ProviderState>, request: ListRequest<ListFilter>) -> OpResult<Vec<Listed<Model>>> {
        let state = ctx.provider()?;
        let groups = super::groups_to_list(ctx, request.filter.access_group_id.into_option()).await?;
        let policies = match groups.as_slice() {
            [] => vec![],
            [one] => state
                .client
                .list_access_group_policies(&one.id)
                .await
                .context(format_args!("listing the policies of access group {}", one.name))?,
            // Every group: one listing of the account's policies, not one per group.
            _ => state.client.list_account_access_policies().await.context("listing the account's access policies")?,
        };
        let names: HashMap<&str, &str> = groups.iter().map(|g| (g.id.as_str(), g.name.as_str())).collect();
        let no_prior = Model { id: Tf::Null, access_group_id: Tf::Null, roles: Tf::Null, resource: Tf::Null };
        let mut listed = Vec::new();
        for policy in policies.iter().filter(|p| representable(p)) {
            let Some(group) = policy.access_group_id().and_then(|id| names.get(id)) else { continue };
            let service = policy.resource_attribute("serviceName").unwrap_or(DEFAULT_SERVICE);
            let scope =
                policy.resource_attribute("serviceInstance").or(policy.resource_attribute("resourceGroupId")).unwrap_or("all instances");
            listed.push(Listed {
                display_name: format!("{group}: {service} {scope}"),
                state: model_from_policy(state, policy, &no_prior).await,
            });
            if listed.len() >= request.limit {
                break;
            }
        }
        Ok(listed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::{from_value, resource, to_value};
    use crate::ibmcloud::{CustomRole, Role};

    fn validate(json: serde_json::Value) -> Vec<String> {
        let policy = resource::<ProviderState, _>(AccessGroupPolicy);
        let config = Value::from_json(&json, policy.value_type()).expect("value");
        policy.validate(&config).0.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect()
    }

    #[test]
    fn validate_rejects_two_scopes_and_bad_ids() {
        let paths = validate(serde_json::json!({
            "access_group_id": "AccessGroupId-1", "roles": ["Viewer"],
            "resource": [{"instance_id": "0b8a4c5e-1111-2222-3333-444455556666", "resource_group_id": "0123456789abcdef0123456789abcdef"}]
        }));
        assert_eq!(paths, ["resource[0].instance_id"]);
        let paths = validate(serde_json::json!({
            "access_group_id": "students", "roles": [],
            "resource": [{"instance_id": "not-a-guid", "resource_group_id": null}]
        }));
        assert_eq!(paths, ["access_group_id", "roles", "resource[0].instance_id"]);
        let crn = "crn:v1:bluemix:public:quantum-computing:us-east:a/acct:0b8a4c5e-1111-2222-3333-444455556666::";
        assert!(validate(
            serde_json::json!({"access_group_id": "AccessGroupId-1", "roles": ["Viewer"], "resource": [{"instance_id": crn}]})
        )
        .is_empty());
        assert_eq!(instance_guid(crn), Some("0b8a4c5e-1111-2222-3333-444455556666"));
    }

    #[test]
    fn validate_checks_roles_groups_and_the_instance_service() {
        let paths = validate(serde_json::json!({
            "access_group_id": "AccessGroupId-1", "roles": [" "],
            "resource": [{"resource_group_id": "Default"}]
        }));
        assert_eq!(paths, ["roles", "resource[0].resource_group_id"]);
        let other = "crn:v1:bluemix:public:cloud-object-storage:global:a/acct:0b8a4c5e-1111-2222-3333-444455556666::";
        let paths =
            validate(serde_json::json!({"access_group_id": "AccessGroupId-1", "roles": ["Viewer"], "resource": [{"instance_id": other}]}));
        assert_eq!(paths, ["resource[0].instance_id"]);
    }

    #[test]
    fn the_declared_instance_pattern_agrees_with_instance_guid() {
        let declared = regex::Regex::new(INSTANCE_PATTERN).expect("pattern");
        let guid = "0b8a4c5e-1111-2222-3333-444455556666";
        for instance in [
            guid.to_string(),
            format!("crn:v1:bluemix:public:quantum-computing:us-east:a/acct:{guid}::"),
            format!("crn:v1:bluemix:public:quantum-computing:us-east:a/acct:{guid}"),
            format!("crn:v1:bluemix:public:quantum-computing:us-east:{guid}::"),
            format!("crn:v1:bluemix:public:quantum-computing:us-east:a/acct:{guid}x::"),
            "not-a-guid".to_string(),
            "crn:".to_string(),
        ] {
            let valid = instance_guid(&instance).is_some_and(|g| guid_pattern().is_match(g));
            assert_eq!(declared.is_match(&instance), valid, "{instance}");
        }
    }

    #[test]
    fn not_blank_agrees_with_trim() {
        let declared = regex::Regex::new(NOT_BLANK).expect("pattern");
        for role in ["", " ", "\t\n", "\u{3000}\u{a0}", " Viewer ", "crn:v1:x"] {
            assert_eq!(declared.is_match(role), !role.trim().is_empty(), "{role:?}");
        }
    }

    #[test]
    fn validate_skips_unknowns() {
        let policy = resource::<ProviderState, _>(AccessGroupPolicy);
        let json = serde_json::json!({"access_group_id": "AccessGroupId-1", "roles": ["Viewer"], "resource": [{}]});
        let mut config = Value::from_json(&json, policy.value_type()).expect("value");
        config.set("resource", Value::Unknown);
        config.set("roles", Value::Set(vec![Value::Unknown]));
        assert!(!policy.validate(&config).has_errors());
    }

    #[test]
    fn state_model_round_trips() {
        let m = Model {
            id: Tf::Known("p1".into()),
            access_group_id: Tf::Known("AccessGroupId-1".into()),
            roles: Tf::Known(vec![Tf::Known("Reader".to_string()), Tf::Known("Viewer".to_string())]),
            resource: Tf::Known(vec![ResourceModel {
                service: Tf::Known(DEFAULT_SERVICE.into()),
                instance_id: Tf::Null,
                resource_group_id: Tf::Known("0123456789abcdef0123456789abcdef".into()),
            }]),
        };
        let v = to_value(&m, &AccessGroupPolicy::schema().value_type()).expect("encodes");
        assert_eq!(from_value::<Model>(&v).expect("decodes"), m);
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

    fn scoped(instance: &str) -> Model {
        Model {
            id: Tf::Known("p1".into()),
            access_group_id: Tf::Known("AccessGroupId-a".into()),
            roles: Tf::Known(vec![Tf::Known("Viewer".into())]),
            resource: Tf::Known(vec![ResourceModel { instance_id: Tf::Known(instance.into()), ..Default::default() }]),
        }
    }

    fn planned_instance(prior: &str, config: &str) -> String {
        let mut plan = Plan {
            prior: Some(scoped(prior)),
            config: scoped(config),
            planned: scoped(config),
            requires_replace: vec![],
            warnings: Diagnostics::new(),
        };
        keep_prior_instance_form(&mut plan);
        plan.planned.scope().instance_id.into_option().unwrap_or_default()
    }

    #[test]
    fn guid_and_crn_of_one_instance_plan_no_change() {
        let guid = "5c4d3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a";
        let crn = format!("crn:v1:bluemix:public:quantum-computing:us-east:a/acct:{guid}::");
        assert_eq!(planned_instance(guid, &crn), guid);
        assert_eq!(planned_instance(&crn, guid), crn);
        assert_eq!(planned_instance(&guid.to_uppercase(), guid), guid.to_uppercase());
        let other = "00000000-1f0e-4d9c-8b7a-6f5e4d3c2b1a";
        assert_eq!(planned_instance(guid, other), other, "another instance is a change");
    }
}
