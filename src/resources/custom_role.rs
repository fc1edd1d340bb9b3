//! `ibmqr_custom_role`: an IAM custom role made of a service's actions (IAM Policy Management
//! `/v2/roles`). Actions are checked at plan time against the actions IBM lists for the service.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::framework::{
    from_value, from_value_with_unknowns, state_from, to_value, Attribute, AttributePath, Block, Ctx, Diagnostics, Plan, Resource, Schema,
    StateResult, Tf, Value,
};
use crate::ibmcloud::{self, CustomRoleUpdate, NewCustomRole};

use super::{found_for_import, provider_and, provider_and_both, wait_until_visible};
use crate::configured::role_catalog::closest;
use crate::configured::{api_error, provider};

pub const TYPE_NAME: &str = "ibmqr_custom_role";
const DEFAULT_SERVICE: &str = "quantum-computing";
/// How long a new or changed role may take to show up in reads (IBM is eventually consistent).
const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(300);

pub struct CustomRole;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Model {
    id: Option<String>,
    name: String,
    display_name: String,
    description: Option<String>,
    actions: BTreeSet<String>,
    service: Option<String>,
    crn: Option<String>,
}

/// Plan-time view: any attribute may still be unknown.
#[derive(Deserialize)]
struct PlanModel {
    actions: Tf<Vec<Tf<String>>>,
    service: Tf<String>,
}

fn name_pattern() -> regex::Regex {
    // Fixed pattern: cannot fail to compile.
    regex::Regex::new(r"^[A-Z][A-Za-z0-9]{0,29}$").unwrap_or_else(|_| unreachable!())
}

impl Model {
    fn from_role(role: &ibmcloud::CustomRole) -> Self {
        Model {
            id: Some(role.id.clone()),
            name: role.name.clone(),
            display_name: role.display_name.clone(),
            description: role.description.clone().filter(|d| !d.is_empty()),
            actions: role.actions.iter().cloned().collect(),
            service: Some(role.service_name.clone()),
            crn: Some(role.crn.clone()),
        }
    }

    fn service(&self) -> &str {
        self.service.as_deref().unwrap_or(DEFAULT_SERVICE)
    }
}

fn encode(model: &Model) -> Result<Value, Diagnostics> {
    Ok(to_value(model, &CustomRole.schema().value_type())?)
}

#[async_trait]
impl Resource for CustomRole {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new("An IAM custom role made of a service's actions, such as `quantum-computing.job.create`.")
                .attr(Attribute::string("id").computed().describe("The role's ID."))
                .attr(
                    Attribute::string("name")
                        .required()
                        .force_new()
                        .describe("Role ID: a capital letter, then up to 29 letters or digits (`QiskitRuntimeUser`). Changing it replaces the role."),
                )
                .attr(Attribute::string("display_name").required().describe("Name shown in the console, 1–50 characters."))
                .attr(Attribute::string("description").optional().describe("Up to 250 characters."))
                .attr(Attribute::string_set("actions").required().describe(
                    "Actions the role grants, by full name (`quantum-computing.job.read`). Checked at plan time against the service's actions.",
                ))
                .attr(
                    Attribute::string("service")
                        .default(Value::string(DEFAULT_SERVICE))
                        .force_new()
                        .describe("Service the actions belong to. Default `quantum-computing`. Changing it replaces the role."),
                )
                .attr(Attribute::string("crn").computed().describe("The role's CRN, to use in access policies.")),
        )
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        if let Some(Value::String(name)) = config.get("name") {
            if !name_pattern().is_match(name) {
                diags.add_attr_error(
                    AttributePath::attr("name"),
                    "Invalid role name",
                    format!("{name:?} is not a valid role ID: start with a capital letter, then up to 29 letters or digits, e.g. \"QiskitRuntimeUser\"."),
                );
            }
        }
        if let Some(Value::String(display)) = config.get("display_name") {
            let n = display.chars().count();
            if !(1..=50).contains(&n) {
                diags.add_attr_error(
                    AttributePath::attr("display_name"),
                    "Invalid display_name",
                    format!("display_name must be 1 to 50 characters long; it has {n}."),
                );
            }
        }
        if let Some(Value::String(description)) = config.get("description") {
            let n = description.chars().count();
            if !(1..=250).contains(&n) {
                diags.add_attr_error(
                    AttributePath::attr("description"),
                    "Invalid description",
                    format!("description must be 1 to 250 characters long; it has {n}. Leave it out for none."),
                );
            }
        }
        if let Some(Value::Set(actions)) = config.get("actions") {
            if actions.is_empty() {
                diags.add_attr_error(
                    AttributePath::attr("actions"),
                    "No actions",
                    "A custom role needs at least one action, e.g. \"quantum-computing.job.read\".",
                );
            }
            for action in actions.iter().filter_map(Value::as_str) {
                if !action.contains('.') {
                    diags.add_attr_error(
                        AttributePath::attr("actions"),
                        "Invalid action",
                        format!(
                            "{action:?} is not a full action name; write it as SERVICE.RESOURCE.VERB, e.g. \"quantum-computing.job.read\"."
                        ),
                    );
                }
            }
        }
        diags
    }

    async fn modify_plan(&self, ctx: &Ctx, plan: &mut Plan) -> Diagnostics {
        let mut diags = Diagnostics::new();
        let Ok(model) = from_value_with_unknowns::<PlanModel>(&plan.planned) else { return diags };
        let (Tf::Known(actions), Tf::Known(service)) = (&model.actions, &model.service) else { return diags };
        let known: Vec<&String> = actions.iter().filter_map(Tf::known).collect();
        if known.is_empty() {
            return diags;
        }
        let state = match provider(ctx) {
            Ok(s) => s,
            Err(d) => return d,
        };
        let valid = match state.roles.actions(&state.client, service).await {
            Ok(v) => v,
            Err(e) => return api_error(&format!("listing the actions of service {service}"), &e),
        };
        if valid.is_empty() {
            diags.add_attr_error(
                AttributePath::attr("service"),
                "Unknown service",
                format!(
                    "IBM Cloud lists no actions for service {service:?}; check the service name (Qiskit Runtime is \"quantum-computing\")."
                ),
            );
            return diags;
        }
        for action in known {
            if !valid.contains(action) {
                let hint = closest(action, &valid).map(|c| format!(" Did you mean {c:?}?")).unwrap_or_default();
                diags.add_attr_error(
                    AttributePath::attr("actions"),
                    "Unknown action",
                    format!("{action:?} is not an action of service {service}.{hint}"),
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
        let client = &state.client;
        let account_id = match client.identity().await {
            Ok(id) => id.account_id,
            Err(e) => return (None, api_error(&format!("creating custom role {}", model.name), &e)),
        };
        let request = NewCustomRole {
            name: model.name.clone(),
            display_name: model.display_name.clone(),
            description: model.description.clone(),
            actions: model.actions.iter().cloned().collect(),
            account_id,
            service_name: model.service().to_string(),
        };
        let created = match client.create_custom_role(&request).await {
            Ok((role, _etag)) => role,
            Err(e) => return (None, create_error(&model.name, &e)),
        };
        let mut result = Model { id: Some(created.id.clone()), crn: Some(created.crn.clone()), ..model.clone() };
        // From here on the role exists: every answer keeps it in state.
        match wait_for_role(ctx, &created.id, |_| true).await {
            Ok(role) => result.crn = Some(role.crn),
            Err(d) => return (encode(&result).ok(), d),
        }
        state_from(encode(&result))
    }

    async fn read(&self, ctx: &Ctx, state_value: &Value) -> Result<Option<Value>, Diagnostics> {
        let state = provider(ctx)?;
        let prior: Model = from_value(state_value)?;
        let Some(id) = prior.id.clone() else { return Ok(None) };
        let role = match state.client.get_custom_role(&id).await {
            Ok(Some((role, _))) => role,
            // Gone behind Terraform's back: drop it from state at once; the next plan recreates it.
            Ok(None) => return Ok(None),
            Err(e) => return Err(api_error(&format!("reading custom role {}", prior.name), &e)),
        };
        let mut fresh = Model::from_role(&role);
        // Keep the user's way of writing an absent description.
        if prior.description.is_none() && fresh.description.as_deref().is_some_and(str::is_empty) {
            fresh.description = None;
        }
        Ok(Some(encode(&fresh)?))
    }

    async fn update(&self, ctx: &Ctx, prior_value: &Value, planned: &Value, _config: &Value) -> StateResult {
        let (_, prior, model) = match provider_and_both::<Model>(ctx, prior_value, planned) {
            Ok(opened) => opened,
            Err(d) => return (None, d),
        };
        let Some(id) = prior.id.clone() else {
            return (None, Diagnostics::error("Custom role has no id", "the state of this custom role has no id; import it again"));
        };
        // PUT replaces the role, so a description left out is cleared. Whether IBM clears it or
        // keeps the old text is UNCERTAIN (the reference only marks it optional); if it keeps it,
        // the next refresh shows the old text as drift rather than hiding it.
        let body = CustomRoleUpdate {
            display_name: model.display_name.clone(),
            description: model.description.clone(),
            actions: model.actions.iter().cloned().collect(),
        };
        let doing = format!("updating custom role {}", model.name);
        if let Err(e) = replace_with_fresh_etag(ctx, &id, &body).await {
            return (None, api_error(&doing, &e));
        }
        let expected = model.actions.clone();
        let display = model.display_name.clone();
        let result = Model { id: Some(id.clone()), crn: prior.crn.clone(), ..model };
        if let Err(d) = wait_for_role(ctx, &id, |role| {
            role.display_name == display && role.actions.iter().cloned().collect::<BTreeSet<_>>() == expected
        })
        .await
        {
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
        match state.client.delete_custom_role(&id).await {
            Ok(()) => Diagnostics::new(),
            Err(e) => api_error(&format!("deleting custom role {}", prior.name), &e),
        }
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Value, Diagnostics> {
        let state = provider(ctx)?;
        let (role, _etag) = found_for_import(state.client.get_custom_role(id).await, &format!("importing custom role {id}"), || {
            Diagnostics::error(
                "Custom role not found",
                format!("no custom role has the id {id:?}. Import takes the role's id (from `ibmcloud iam roles` or the console), not its name."),
            )
        })?;
        encode(&Model::from_role(&role))
    }
}

/// Replaces the role with If-Match from a fresh read; a stale ETag is re-read and tried once more.
async fn replace_with_fresh_etag(ctx: &Ctx, id: &str, body: &CustomRoleUpdate) -> Result<(), ibmcloud::Error> {
    let client = &provider(ctx).map_err(|_| ibmcloud::Error::Config("provider not configured".into()))?.client;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let etag = match client.get_custom_role(id).await? {
            Some((_, Some(etag))) => etag,
            Some((_, None)) => "*".to_string(),
            None => return Err(ibmcloud::Error::Config(format!("custom role {id} no longer exists"))),
        };
        match client.replace_custom_role(id, &etag, body).await {
            Ok(_) => return Ok(()),
            // IBM documents neither 409 nor 412 for a stale ETag (UNCERTAIN): both mean re-read.
            Err(ibmcloud::Error::Api(api)) if (api.status == 412 || api.status == 409) && attempts < 2 => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Reads the role until it is visible and `ready` holds, within the consistency bound.
async fn wait_for_role(ctx: &Ctx, id: &str, ready: impl Fn(&ibmcloud::CustomRole) -> bool) -> Result<ibmcloud::CustomRole, Diagnostics> {
    let client = &provider(ctx)?.client;
    let get = || async move { client.get_custom_role(id).await.map(|found| found.map(|(role, _etag)| role)) };
    wait_until_visible(ctx, VISIBILITY_TIMEOUT, &format!("custom role {id}"), get, ready).await
}

fn create_error(name: &str, err: &ibmcloud::Error) -> Diagnostics {
    if let Some(conflict) = ibmcloud::role_conflict(err) {
        let existing = conflict.role;
        return Diagnostics::attr_error(
            AttributePath::attr("name"),
            "Custom role already exists",
            format!(
                "creating custom role {name}: a role with this name already exists in the account (id {id}, display name {display:?}). \
                 To manage it with Terraform, import it:\n  terraform import {TYPE_NAME}.<name> {id}\nor choose another name.",
                id = existing.id,
                display = existing.display_name,
            ),
        );
    }
    api_error(&format!("creating custom role {name}"), err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: serde_json::Value) -> Value {
        Value::from_json(&json, &CustomRole.schema().value_type()).expect("value")
    }

    #[test]
    fn validate_names_the_bad_attribute() {
        let d = CustomRole.validate(&config(serde_json::json!({
            "name": "qiskit-user", "display_name": "", "actions": []
        })));
        let paths: Vec<String> = d.0.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect();
        assert!(paths.contains(&"name".to_string()), "{paths:?}");
        assert!(paths.contains(&"display_name".to_string()));
        assert!(paths.contains(&"actions".to_string()));
    }

    #[test]
    fn validate_accepts_a_good_role_and_skips_unknowns() {
        let mut v = config(serde_json::json!({
            "name": "QiskitRuntimeUser", "display_name": "Qiskit user", "actions": ["quantum-computing.job.read"]
        }));
        assert!(!CustomRole.validate(&v).has_errors());
        v.set("name", Value::Unknown);
        assert!(!CustomRole.validate(&v).has_errors());
    }

    #[test]
    fn state_model_round_trips() {
        let m = Model {
            id: Some("abc".into()),
            name: "QiskitRuntimeUser".into(),
            display_name: "User".into(),
            description: None,
            actions: ["quantum-computing.job.read".to_string()].into(),
            service: Some("quantum-computing".into()),
            crn: Some("crn:x".into()),
        };
        let v = encode(&m).expect("encodes");
        assert_eq!(from_value::<Model>(&v).expect("decodes"), m);
    }
}
