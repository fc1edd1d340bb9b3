//! `ibmqr_appid_directory`: an App ID instance (Resource Controller service `appid`) set up as
//! the guide asks: Cloud Directory on (with welcome mail and self-service password reset),
//! sign-up and social logins off by default, and one custom profile attribute mapped into the ID
//! token as a claim of the same name, so that IAM dynamic rules can match it.
//!
//! App ID's configurations are replaced whole by PUT: each is read, changed in the fields this
//! resource manages, and written back. In the token configuration only the one claim mapping
//! `attributes.<project_attribute>` → `<project_attribute>` is owned; other mappings stay.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

use crate::configured::ProviderState;
use crate::framework::timeouts::timeouts_block;
use crate::framework::{
    Attribute, AttributePath, Block, Check, Context, Ctx, IdentitySchema, ListRequest, ListResource, Listed, OpError, OpResult, Plan,
    Resource, Schema, Tf, Timeouts, Value,
};
use crate::ibmcloud::appid::{Tenant, APPID_PLANS, APPID_REGIONS, APPID_RESOURCE_ID, SOCIAL_IDPS};
use crate::ibmcloud::resource_controller::{InstanceFilter, InstanceUpdate, NewResourceInstance, ResourceInstance};
use crate::ibmcloud::{self, poll_until, Client, Poll};

pub const TYPE_NAME: &str = "ibmqr_appid_directory";
const TIMEOUT_OPS: [&str; 3] = ["create", "update", "delete"];
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// `login_field` values and App ID's `identityField` spelling.
const LOGIN_FIELDS: [(&str, &str); 2] = [("email", "email"), ("username", "userName")];

pub struct AppIdDirectory;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Model {
    id: Tf<String>,
    tenant_id: Tf<String>,
    management_url: Tf<String>,
    name: Tf<String>,
    plan: Tf<String>,
    region: Tf<String>,
    resource_group_id: Tf<String>,
    login_field: Tf<String>,
    self_signup: Tf<bool>,
    social_logins: Tf<bool>,
    project_attribute: Tf<String>,
    purge_on_destroy: Tf<bool>,
    timeouts: Timeouts,
}

fn plan_id(name: &str) -> Option<&'static str> {
    APPID_PLANS.iter().find(|(n, _)| *n == name).map(|(_, id)| *id)
}

fn plan_name(id: &str) -> Option<&'static str> {
    APPID_PLANS.iter().find(|(_, i)| *i == id).map(|(n, _)| *n)
}

/// Whether an instance is App ID's, by catalog ID or by the service its CRN names.
pub fn is_appid_instance(instance: &ResourceInstance) -> bool {
    instance.resource_id == APPID_RESOURCE_ID || instance.crn.split(':').nth(4) == Some("appid")
}

/// The App ID settings as read, in this resource's terms.
#[derive(Debug, Clone, PartialEq, Default)]
struct Settings {
    /// None when the Cloud Directory is not set up as the guide asks (off, welcome mail or
    /// password reset off): the plan then shows `login_field` changing, and the update sets it up.
    login_field: Option<String>,
    self_signup: Option<bool>,
    social_logins: Option<bool>,
    project_attribute: Option<String>,
}

fn settings_from(cloud_directory: &Json, social: &[Json], tokens: &Json, wanted_attribute: Option<&str>) -> Settings {
    let set_up = cloud_directory["isActive"] == true
        && cloud_directory.pointer("/config/interactions/welcomeEnabled") == Some(&json!(true))
        && cloud_directory.pointer("/config/interactions/resetPasswordEnabled") == Some(&json!(true))
        && cloud_directory.pointer("/config/selfServiceEnabled") == Some(&json!(true));
    let field = cloud_directory.pointer("/config/identityField").and_then(Json::as_str).unwrap_or("email");
    let login_field = LOGIN_FIELDS.iter().find(|(_, api)| *api == field).map(|(ours, _)| ours.to_string()).filter(|_| set_up);
    Settings {
        login_field,
        self_signup: cloud_directory.pointer("/config/signupEnabled").and_then(Json::as_bool),
        social_logins: Some(social.iter().any(|s| s["isActive"] == true)),
        project_attribute: owned_claim(tokens, wanted_attribute),
    }
}

/// The profile attribute a directory maps into the ID token (`project` first), from its token
/// configuration: where `ibmqr_appid_user` writes a user's projects.
pub fn project_attribute_of(tokens: &Json) -> Option<String> {
    owned_claim(tokens, None)
}

/// The attribute of the owned mapping: `wanted` if its mapping is there, else (import) the
/// `project` mapping, else the first attribute mapped to a claim of its own name.
fn owned_claim(tokens: &Json, wanted: Option<&str>) -> Option<String> {
    let mapped: Vec<String> = tokens["idTokenClaims"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["source"] == "attributes")
        .filter_map(|c| {
            let source = c["sourceClaim"].as_str()?;
            let destination = c["destinationClaim"].as_str().filter(|d| !d.is_empty()).unwrap_or(source);
            (source == destination).then(|| source.to_string())
        })
        .collect();
    match wanted {
        Some(w) => mapped.into_iter().find(|m| m == w),
        None => mapped.iter().find(|m| *m == "project").or(mapped.first()).cloned(),
    }
}

/// The token configuration with the owned mapping moved from `old` to `new` (None: removed).
fn with_claim(tokens: &Json, old: Option<&str>, new: Option<&str>) -> Json {
    let mut out = tokens.clone();
    let is_owned = |c: &Json, attr: &str| {
        c["source"] == "attributes"
            && c["sourceClaim"] == attr
            && c["destinationClaim"].as_str().filter(|d| !d.is_empty()).unwrap_or(attr) == attr
    };
    let mut claims: Vec<Json> = tokens["idTokenClaims"].as_array().cloned().unwrap_or_default();
    claims.retain(|c| !old.is_some_and(|o| is_owned(c, o)) && !new.is_some_and(|n| is_owned(c, n)));
    if let Some(attr) = new {
        claims.push(json!({"source": "attributes", "sourceClaim": attr, "destinationClaim": attr}));
    }
    out["idTokenClaims"] = Json::Array(claims);
    // IBM's PUT resets what it is not sent: every object read is sent back.
    out
}

/// The Cloud Directory configuration with the managed fields set.
fn cloud_directory_config(current: &Json, login_field: &str, self_signup: bool) -> Json {
    let mut config = current.clone();
    if !config.is_object() {
        config = json!({});
    }
    let field = LOGIN_FIELDS.iter().find(|(ours, _)| *ours == login_field).map_or("email", |(_, api)| *api);
    config["isActive"] = json!(true);
    if !config["config"].is_object() {
        config["config"] = json!({});
    }
    config["config"]["selfServiceEnabled"] = json!(true);
    config["config"]["signupEnabled"] = json!(self_signup);
    config["config"]["identityField"] = json!(field);
    if !config["config"]["interactions"].is_object() {
        config["config"]["interactions"] = json!({});
    }
    let interactions = &mut config["config"]["interactions"];
    interactions["welcomeEnabled"] = json!(true);
    interactions["resetPasswordEnabled"] = json!(true);
    interactions["resetPasswordNotificationEnable"] = json!(true);
    if !interactions["identityConfirmation"].is_object() {
        interactions["identityConfirmation"] = json!({"accessMode": "FULL", "methods": ["email"]});
    }
    config
}

impl Model {
    fn tenant(&self) -> Option<Tenant> {
        self.id.as_deref().and_then(Tenant::from_crn)
    }

    fn with_instance(&self, client: &Client, instance: &ResourceInstance) -> Model {
        let tenant = Tenant::from_crn(&instance.crn);
        Model {
            id: Tf::Known(instance.crn.clone()),
            tenant_id: Tf::Known(instance.guid.clone()),
            management_url: tenant.map(|t| client.appid_management_url(&t)).into(),
            name: Tf::Known(instance.name.clone()),
            plan: plan_name(&instance.resource_plan_id).map(str::to_string).or_else(|| self.plan.known().cloned()).into(),
            region: Tf::Known(instance.region_id.clone()),
            resource_group_id: Tf::Known(instance.resource_group_id.clone()),
            purge_on_destroy: Tf::Known(self.purge_on_destroy.known().copied().unwrap_or(false)),
            ..self.clone()
        }
    }

    fn with_settings(mut self, settings: Settings) -> Model {
        self.login_field = settings.login_field.into();
        self.self_signup = settings.self_signup.into();
        self.social_logins = settings.social_logins.into();
        self.project_attribute = settings.project_attribute.into();
        self
    }

    fn unset_settings(self) -> Model {
        self.with_settings(Settings::default())
    }
}

/// Reads the four App ID configurations; None: the tenant does not answer (gone).
async fn read_settings(client: &Client, tenant: &Tenant, wanted_attribute: Option<&str>, doing: &str) -> OpResult<Option<Settings>> {
    let Some(cloud_directory) = client.get_appid_idp(tenant, "cloud_directory").await.context(doing)? else { return Ok(None) };
    let mut social = Vec::new();
    for idp in SOCIAL_IDPS {
        social.push(client.get_appid_idp(tenant, idp).await.context(doing)?.unwrap_or_default());
    }
    let tokens = client.get_token_config(tenant).await.context(doing)?.unwrap_or_default();
    Ok(Some(settings_from(&cloud_directory, &social, &tokens, wanted_attribute)))
}

/// Writes the settings that differ from `prior` (None: all of them).
async fn write_settings(client: &Client, tenant: &Tenant, planned: &Model, prior: Option<&Model>, doing: &str) -> OpResult<()> {
    let login_field = planned.login_field.as_deref().unwrap_or("email");
    let self_signup = planned.self_signup.known().copied().unwrap_or(false);
    let changed = |p: &Model| p.login_field.as_deref() != Some(login_field) || p.self_signup.known() != Some(&self_signup);
    if prior.is_none_or(changed) {
        let current = client.get_appid_idp(tenant, "cloud_directory").await.context(doing)?.unwrap_or_default();
        let config = cloud_directory_config(&current, login_field, self_signup);
        client.put_appid_idp(tenant, "cloud_directory", &config).await.context(format_args!("{doing}: configuring the Cloud Directory"))?;
    }
    let social = planned.social_logins.known().copied().unwrap_or(false);
    if prior.is_none_or(|p| p.social_logins.known() != Some(&social)) {
        for idp in SOCIAL_IDPS {
            // Without credentials of its own, App ID uses IBM's (limited) default ones.
            client
                .put_appid_idp(tenant, idp, &json!({"isActive": social}))
                .await
                .context(format_args!("{doing}: turning {idp} login {}", if social { "on" } else { "off" }))?;
        }
    }
    let attribute = planned.project_attribute.as_deref();
    let old = prior.and_then(|p| p.project_attribute.as_deref());
    if prior.is_none() || old != attribute {
        let current = client.get_token_config(tenant).await.context(doing)?.unwrap_or_default();
        let tokens = with_claim(&current, old, attribute);
        client.put_token_config(tenant, &tokens).await.context(format_args!("{doing}: mapping the profile attribute into the ID token"))?;
    }
    Ok(())
}

/// Reads the instance until `ready` holds, within `timeout`.
async fn wait_for(
    ctx: &Ctx<ProviderState>,
    client: &Client,
    id: &str,
    timeout: Duration,
    ready: impl Fn(&ResourceInstance) -> bool,
) -> OpResult<ResourceInstance> {
    let ready = &ready;
    poll_until(&ctx.cancel, timeout, &format!("App ID instance {id} to be active"), || async move {
        match client.get_resource_instance(id).await? {
            Some(i) if ready(&i) => Ok(Poll::Ready(i)),
            Some(i) if i.state == "failed" => Err(ibmcloud::Error::Decode(format!("App ID instance {id} failed to provision"))),
            Some(i) => Ok(Poll::Pending(i.state)),
            None => Ok(Poll::Pending("not yet visible".into())),
        }
    })
    .await
    .context(format_args!("waiting for App ID instance {id}"))
}

#[async_trait]
impl Resource<ProviderState> for AppIdDirectory {
    type Model = Model;
    const TYPE_NAME: &'static str = TYPE_NAME;

    fn identity() -> IdentitySchema {
        IdentitySchema::new().from_attr("crn", "id", "The App ID instance's CRN.")
    }

    fn schema() -> Schema {
        let plans: Vec<&str> = APPID_PLANS.iter().map(|(n, _)| *n).collect();
        let fields: Vec<&str> = LOGIN_FIELDS.iter().map(|(n, _)| *n).collect();
        Schema::new(
            0,
            Block::new(
                "An App ID instance whose Cloud Directory holds users without IBM Cloud accounts, set up as the Qiskit Runtime guide asks: Cloud Directory on with welcome mail and self-service password reset, sign-up and Facebook/Google off unless asked for, and a profile attribute (`project`) mapped into the ID token so that IAM dynamic rules can match it.",
            )
            .attr(Attribute::string("id").computed().describe("The instance's CRN."))
            .attr(Attribute::string("tenant_id").computed().describe("The instance's GUID, App ID's tenant ID."))
            .attr(Attribute::string("management_url").computed().describe("Base URL of the instance's management API (in its region)."))
            .attr(Attribute::string("name").required().check(Check::length(1, 180)).describe("Name. Renamed in place."))
            .attr(
                Attribute::string("plan")
                    .default(Value::string("lite"))
                    .check(Check::one_of(&plans))
                    .describe("Plan. A move to `graduated-tier` is made in place; back to `lite` replaces the instance."),
            )
            .attr(
                Attribute::string("region")
                    .optional()
                    .computed()
                    .force_new()
                    .check(Check::one_of(&APPID_REGIONS))
                    .describe("Region. Default: the provider's `region`. Its management API is reached in this region."),
            )
            .attr(Attribute::string("resource_group_id").optional().computed().force_new().describe("Resource group. Default: the account's default group."))
            .attr(Attribute::string("login_field").default(Value::string("email")).check(Check::one_of(&fields)).describe(
                "What users log in with. If the Cloud Directory is found turned off, or without welcome mail or password reset, the plan shows this attribute changing and the update sets the directory up again.",
            ))
            .attr(Attribute::bool("self_signup").default(Value::Bool(false)).describe("Whether people may sign themselves up (IAM's guidance: off, add known users only)."))
            .attr(Attribute::bool("social_logins").default(Value::Bool(false)).describe("Whether Facebook and Google logins are on."))
            .attr(
                Attribute::string("project_attribute")
                    .default(Value::string("project"))
                    .check(Check::pattern("^[A-Za-z_][A-Za-z0-9_]{0,63}$", "a claim name: letters, digits and `_`, such as `project`"))
                    .describe("The custom profile attribute mapped into the ID token as a claim of the same name, which dynamic rules match. Only this one mapping of the token configuration is managed."),
            )
            .attr(Attribute::bool("purge_on_destroy").default(Value::Bool(false)).describe("Reclaim the instance at once on destroy instead of leaving it pending reclamation."))
            .block(timeouts_block(&TIMEOUT_OPS)),
        )
    }

    async fn modify_plan(&self, ctx: &Ctx<ProviderState>, plan: &mut Plan<Model>) -> OpResult<()> {
        let state = ctx.provider()?;
        if plan.config.region.is_null() {
            let region = state.region.clone();
            if !APPID_REGIONS.contains(&region.as_str()) {
                return Err(OpError::at(
                    AttributePath::attr("region"),
                    "App ID is not offered here",
                    format!(
                        "App ID does not run in {region:?} (the provider's region); set region to one of {}.",
                        APPID_REGIONS.join(", ")
                    ),
                ));
            }
            let moved = plan.prior.as_ref().and_then(|p| p.region.as_deref()).is_some_and(|r| r != region);
            if moved && plan.requires_replace.is_empty() {
                plan.requires_replace.push(AttributePath::attr("region"));
            }
            plan.planned.region = Tf::Known(region);
        }
        let downgrade = plan.prior.as_ref().is_some_and(|p| p.plan.as_deref() == Some("graduated-tier"))
            && plan.planned.plan.as_deref() == Some("lite");
        if downgrade && plan.requires_replace.is_empty() {
            plan.requires_replace.push(AttributePath::attr("plan"));
        }
        Ok(())
    }

    async fn create(&self, ctx: &Ctx<ProviderState>, planned: Model, _config: Model) -> OpResult<Model> {
        let state = ctx.provider()?;
        let client = &state.client;
        let name = planned.name.require("name")?;
        let doing = format!("creating App ID directory {name}");
        let plan = planned.plan.as_deref().unwrap_or("lite");
        let resource_plan_id = plan_id(plan)
            .ok_or_else(|| OpError::at(AttributePath::attr("plan"), "Unknown plan", format!("{plan:?} is not an App ID plan.")))?;
        let resource_group = match planned.resource_group_id.known() {
            Some(id) => id.clone(),
            None => super::default_group_id(client, &doing).await?,
        };
        let request = NewResourceInstance {
            name: name.clone(),
            target: planned.region.known().cloned().unwrap_or_else(|| state.region.clone()),
            resource_group,
            resource_plan_id: resource_plan_id.to_string(),
            parameters: Default::default(),
        };
        let created = client.create_resource_instance(&request).await.context(&doing)?;
        // Until App ID is configured, state says its settings are not known.
        ctx.save(&planned.with_instance(client, &created).unset_settings());
        let active =
            wait_for(ctx, client, &created.guid, planned.timeouts.limit("create", DEFAULT_TIMEOUT), |i| i.state == "active").await?;
        let result = planned.with_instance(client, &active);
        let tenant = result.tenant().ok_or_else(|| {
            OpError::new("Not an App ID CRN", format!("{doing}: IBM returned the CRN {:?}, which names no App ID region", active.crn))
        })?;
        write_settings(client, &tenant, &result, None, &doing).await?;
        Ok(result)
    }

    async fn read(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<Option<Model>> {
        let Some(crn) = prior.id.known().cloned() else { return Ok(None) };
        let client = &ctx.provider()?.client;
        let doing = format!("reading App ID directory {}", prior.name.as_deref().unwrap_or(&crn));
        let Some(instance) = client.get_resource_instance(&crn).await.context(&doing)?.filter(|i| !i.is_deleted()) else { return Ok(None) };
        if !is_appid_instance(&instance) {
            return Err(OpError::new(
                "Not an App ID instance",
                format!("{doing}: {crn} is an instance of another service ({}).", instance.resource_id),
            ));
        }
        let model = prior.with_instance(client, &instance);
        let Some(tenant) = model.tenant() else { return Ok(Some(model)) };
        // On import nothing is wanted yet: the `project` mapping, or the first of its kind, is taken.
        let wanted = prior.project_attribute.known().map(String::as_str);
        let Some(settings) = read_settings(client, &tenant, wanted, &doing).await? else { return Ok(None) };
        Ok(Some(model.with_settings(settings)))
    }

    async fn update(&self, ctx: &Ctx<ProviderState>, prior: Model, planned: Model, _config: Model) -> OpResult<Model> {
        let client = &ctx.provider()?.client;
        let crn = prior.id.require("id")?.clone();
        let name = planned.name.require("name")?.clone();
        let doing = format!("updating App ID directory {name}");
        let mut update = InstanceUpdate::default();
        if planned.name != prior.name {
            update.name = Some(name.clone());
        }
        if planned.plan != prior.plan {
            update.resource_plan_id = planned.plan.as_deref().and_then(plan_id).map(str::to_string);
        }
        let mut current = Model { purge_on_destroy: planned.purge_on_destroy.clone(), timeouts: planned.timeouts.clone(), ..prior.clone() };
        ctx.save(&current);
        if !update.is_empty() {
            client.update_resource_instance(&crn, &update).await.context(&doing)?;
            let want_plan = update.resource_plan_id.clone();
            let changed = wait_for(ctx, client, &crn, planned.timeouts.limit("update", DEFAULT_TIMEOUT), |i| {
                i.state == "active" && i.name == name && want_plan.as_ref().is_none_or(|p| *p == i.resource_plan_id)
            })
            .await?;
            current = current.with_instance(client, &changed);
            ctx.save(&current);
        }
        let tenant = current.tenant().ok_or_else(|| {
            OpError::new("Not an App ID CRN", format!("{doing}: {crn} names no App ID region; import the directory again"))
        })?;
        write_settings(client, &tenant, &planned, Some(&prior), &doing).await?;
        Ok(Model {
            login_field: planned.login_field.clone(),
            self_signup: planned.self_signup.clone(),
            social_logins: planned.social_logins.clone(),
            project_attribute: planned.project_attribute.clone(),
            ..current
        })
    }

    async fn delete(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<()> {
        let Some(crn) = prior.id.known().cloned() else { return Ok(()) };
        let client = &ctx.provider()?.client;
        let doing = format!("deleting App ID directory {}", prior.name.as_deref().unwrap_or(&crn));
        client.delete_resource_instance(&crn).await.context(&doing)?;
        if !prior.purge_on_destroy.known().copied().unwrap_or(false) {
            return Ok(());
        }
        let Some(guid) = prior.tenant_id.known().cloned() else { return Ok(()) };
        let timeout = prior.timeouts.limit("delete", DEFAULT_TIMEOUT);
        client.purge_instance(&ctx.cancel, &crn, &guid, timeout, "purge_on_destroy").await.context(format_args!("{doing}: purging it"))
    }

    fn import_not_found(&self, id: &str) -> OpError {
        OpError::new(
            "App ID directory not found",
            format!("no App ID instance has the CRN {id:?}. Import takes the instance's CRN, crn:v1:bluemix:public:appid:REGION:a/ACCOUNT:GUID::."),
        )
    }
}

/// `list "ibmqr_appid_directory"` has no filters.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ListFilter {}

#[async_trait]
impl ListResource<ProviderState> for AppIdDirectory {
    type Filter = ListFilter;

    fn list_schema() -> Schema {
        Schema::new(0, Block::new("The account's App ID instances, as directories of federated users; deleted ones and those waiting for reclamation are left out."))
    }

    async fn list(&self, ctx: &Ctx<ProviderState>, request: ListRequest<ListFilter>) -> OpResult<Vec<Listed<Model>>> {
        let client = &ctx.provider()?.client;
        let filter = InstanceFilter { resource_id: Some(APPID_RESOURCE_ID), ..Default::default() };
        let mut instances = client.list_resource_instances(&filter).await.context("listing the account's App ID instances")?;
        instances.retain(|i| is_appid_instance(i) && !i.is_deleted());
        instances.sort_by(|a, b| (&a.name, &a.crn).cmp(&(&b.name, &b.crn)));
        instances.truncate(request.limit);
        let mut listed = Vec::with_capacity(instances.len());
        for instance in instances {
            // Read as an import reads it: its settings come from App ID's own API.
            let stub = Model { id: Tf::Known(instance.crn.clone()), ..Default::default() };
            if let Some(state) = self.read(ctx, stub).await? {
                listed.push(Listed { display_name: instance.name.clone(), state });
            }
        }
        Ok(listed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_owned_claim_mapping_changes() {
        let tokens = json!({"access": {"expires_in": 900}, "idTokenClaims": [
            {"source": "attributes", "sourceClaim": "role", "destinationClaim": "role"},
            {"source": "attributes", "sourceClaim": "project", "destinationClaim": "project"}]});
        let moved = with_claim(&tokens, Some("project"), Some("team"));
        assert_eq!(moved["access"]["expires_in"], 900, "the rest is sent back");
        let claims = moved["idTokenClaims"].as_array().unwrap();
        assert_eq!(claims.len(), 2);
        assert_eq!(claims[0]["sourceClaim"], "role", "another mapping stays");
        assert_eq!(claims[1]["sourceClaim"], "team");
        assert_eq!(owned_claim(&tokens, Some("project")).as_deref(), Some("project"));
        assert_eq!(owned_claim(&tokens, None).as_deref(), Some("project"), "import takes project first");
        assert_eq!(owned_claim(&moved, Some("project")), None, "drift: the mapping is gone");
        let twice = with_claim(&with_claim(&tokens, None, Some("project")), None, Some("project"));
        assert_eq!(twice["idTokenClaims"].as_array().unwrap().len(), 2, "no duplicate mapping");
    }

    #[test]
    fn the_cloud_directory_is_set_up_as_the_guide_asks() {
        let current = json!({"isActive": false, "config": {"selfServiceEnabled": false, "identityField": "email",
            "interactions": {"identityConfirmation": {"accessMode": "OFF"}, "welcomeEnabled": false}}});
        let settings = settings_from(&current, &[], &json!({}), None);
        assert_eq!(settings.login_field, None, "not set up: shown as a change");
        let config = cloud_directory_config(&current, "username", false);
        assert_eq!(config["config"]["identityField"], "userName");
        assert_eq!(config["config"]["interactions"]["identityConfirmation"]["accessMode"], "OFF", "kept");
        let settings = settings_from(&config, &[json!({"isActive": false}), json!({"isActive": true})], &json!({}), None);
        assert_eq!(settings.login_field.as_deref(), Some("username"));
        assert_eq!(settings.self_signup, Some(false));
        assert_eq!(settings.social_logins, Some(true), "one social login on counts");
    }
}
