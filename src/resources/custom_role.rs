//! `ibmqr_custom_role`: an IAM custom role made of a service's actions (IAM Policy Management
//! `/v2/roles`). Actions are checked at plan time against the actions IBM lists for the service.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::configured::role_catalog::closest;
use crate::configured::{api_error, ProviderState};
use crate::framework::{
    Attribute, AttributePath, Block, Check, Context, Ctx, Diagnostics, ListRequest, ListResource, Listed, OpError, OpResult, Plan,
    Resource, Schema, Tf, Value,
};
use crate::ibmcloud::{self, Client, CustomRoleUpdate, NewCustomRole};

use super::{is_stale_etag, wait_until_visible, write_with_fresh_etag};

pub const TYPE_NAME: &str = "ibmqr_custom_role";
const DEFAULT_SERVICE: &str = "quantum-computing";
/// How long a new or changed role may take to show up in reads (IBM is eventually consistent).
const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(300);

pub struct CustomRole;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Model {
    id: Tf<String>,
    name: Tf<String>,
    display_name: Tf<String>,
    description: Tf<String>,
    /// A set; a vector here so that single unknown elements survive the plan.
    actions: Tf<Vec<Tf<String>>>,
    service: Tf<String>,
    crn: Tf<String>,
}

impl Model {
    fn from_role(role: &ibmcloud::CustomRole) -> Self {
        Model {
            id: Tf::Known(role.id.clone()),
            name: Tf::Known(role.name.clone()),
            display_name: Tf::Known(role.display_name.clone()),
            description: role.description.clone().filter(|d| !d.is_empty()).into(),
            actions: Tf::Known(role.actions.iter().map(|a| Tf::Known(a.clone())).collect()),
            service: Tf::Known(role.service_name.clone()),
            crn: Tf::Known(role.crn.clone()),
        }
    }

    fn service(&self) -> &str {
        self.service.as_deref().unwrap_or(DEFAULT_SERVICE)
    }

    /// The known actions, in order.
    fn action_names(&self) -> BTreeSet<String> {
        self.actions.known().into_iter().flatten().filter_map(Tf::known).cloned().collect()
    }
}

#[async_trait]
impl Resource<ProviderState> for CustomRole {
    type Model = Model;
    const TYPE_NAME: &'static str = TYPE_NAME;

    fn schema() -> Schema {
        Schema::new(
            0,
            Block::new("An IAM custom role made of a service's actions, such as `quantum-computing.job.create`.")
                .attr(Attribute::string("id").computed().describe("The role's ID."))
                .attr(
                    Attribute::string("name")
                        .required()
                        .force_new()
                        .check(Check::pattern(
                            r"^[A-Z][A-Za-z0-9]{0,29}$",
                            "a capital letter, then up to 29 letters or digits, such as `QiskitRuntimeUser`",
                        ))
                        .describe("The role's name in IAM policies, such as `QiskitRuntimeUser`."),
                )
                .attr(Attribute::string("display_name").required().check(Check::length(1, 50)).describe("Name shown in the console."))
                .attr(Attribute::string("description").optional().check(Check::length(1, 250)).describe("What the role is for. Leave it out for none."))
                .attr(
                    Attribute::string_set("actions")
                        .required()
                        .check(Check::items(1, None))
                        .check(Check::each(Check::pattern(
                            r"^[^.]+\..+$",
                            "a full action name, SERVICE.RESOURCE.VERB, such as `quantum-computing.job.read`",
                        )))
                        .describe("Actions the role grants, by full name (`quantum-computing.job.read`). Checked at plan time against the service's actions."),
                )
                .attr(
                    Attribute::string("service")
                        .default(Value::string(DEFAULT_SERVICE))
                        .force_new()
                        .describe("Service the actions belong to."),
                )
                .attr(Attribute::string("crn").computed().describe("The role's CRN, to use in access policies.")),
        )
    }

    async fn modify_plan(&self, ctx: &Ctx<ProviderState>, plan: &mut Plan<Model>) -> OpResult<()> {
        let (Tf::Known(actions), Tf::Known(service)) = (&plan.planned.actions, &plan.planned.service) else { return Ok(()) };
        let known: Vec<&String> = actions.iter().filter_map(Tf::known).collect();
        if known.is_empty() {
            return Ok(());
        }
        let state = ctx.provider()?;
        let valid = state.roles.actions(&state.client, service).await.context(format_args!("listing the actions of service {service}"))?;
        if valid.is_empty() {
            return Err(OpError::at(
                AttributePath::attr("service"),
                "Unknown service",
                format!(
                    "IBM Cloud lists no actions for service {service:?}; check the service name (Qiskit Runtime is \"quantum-computing\")."
                ),
            ));
        }
        let mut diags = Diagnostics::new();
        for action in known.into_iter().filter(|a| !valid.contains(*a)) {
            let hint = closest(action, &valid).map(|c| format!(" Did you mean {c:?}?")).unwrap_or_default();
            diags.add_attr_error(
                AttributePath::attr("actions"),
                "Unknown action",
                format!("{action:?} is not an action of service {service}.{hint}"),
            );
        }
        diags.into_result()
    }

    async fn create(&self, ctx: &Ctx<ProviderState>, planned: Model, _config: Model) -> OpResult<Model> {
        let client = &ctx.provider()?.client;
        let name = planned.name.require("name")?;
        let account_id = client.identity().await.context(format_args!("creating custom role {name}"))?.account_id;
        let request = NewCustomRole {
            name: name.clone(),
            display_name: planned.display_name.require("display_name")?.clone(),
            description: planned.description.known().cloned(),
            actions: planned.action_names().into_iter().collect(),
            account_id,
            service_name: planned.service().to_string(),
        };
        let (created, _etag) = client.create_custom_role(&request).await.map_err(|e| create_error(name, &e))?;
        let mut role = Model { id: Tf::Known(created.id.clone()), crn: Tf::Known(created.crn.clone()), ..planned.clone() };
        ctx.save(&role);
        role.crn = Tf::Known(wait_for_role(ctx, &created.id, |_| true).await?.crn);
        Ok(role)
    }

    async fn read(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<Option<Model>> {
        let Tf::Known(id) = &prior.id else { return Ok(None) };
        let client = &ctx.provider()?.client;
        let doing = format!("reading custom role {}", prior.name.as_deref().unwrap_or(id));
        // None: gone behind Terraform's back; the next plan recreates it.
        let Some((role, _etag)) = client.get_custom_role(id).await.context(doing)? else { return Ok(None) };
        Ok(Some(Model::from_role(&role)))
    }

    async fn update(&self, ctx: &Ctx<ProviderState>, prior: Model, planned: Model, _config: Model) -> OpResult<Model> {
        let id = prior.id.require("id")?;
        // PUT replaces the role, so a description left out is cleared. Whether IBM clears it or
        // keeps the old text is UNCERTAIN (the reference only marks it optional); if it keeps it,
        // the next refresh shows the old text as drift rather than hiding it.
        let body = CustomRoleUpdate {
            display_name: planned.display_name.require("display_name")?.clone(),
            description: planned.description.known().cloned(),
            actions: planned.action_names().into_iter().collect(),
        };
        let doing = format!("updating custom role {}", planned.name.as_deref().unwrap_or(id));
        let Some(()) = replace_with_fresh_etag(&ctx.provider()?.client, id, &body).await.context(&doing)? else {
            return Err(OpError::new("Custom role gone", format!("{doing}: the role no longer exists; the next plan creates it again.")));
        };
        let role = Model { id: prior.id.clone(), crn: prior.crn.clone(), ..planned };
        ctx.save(&role);
        let expected = role.action_names();
        wait_for_role(ctx, id, |found| {
            found.display_name == body.display_name && found.actions.iter().cloned().collect::<BTreeSet<_>>() == expected
        })
        .await?;
        Ok(role)
    }

    async fn delete(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<()> {
        let Tf::Known(id) = &prior.id else { return Ok(()) };
        // Already gone counts as deleted (the client treats 404 so).
        ctx.provider()?
            .client
            .delete_custom_role(id)
            .await
            .context(format_args!("deleting custom role {}", prior.name.as_deref().unwrap_or(id)))
    }

    fn import_not_found(&self, id: &str) -> OpError {
        OpError::new(
            "Custom role not found",
            format!(
                "no custom role has the id {id:?}. Import takes the role's id (from `ibmcloud iam roles` or the console), not its name."
            ),
        )
    }
}

/// Replaces the role with If-Match from a fresh read (see [`write_with_fresh_etag`]). None: the
/// role no longer exists.
async fn replace_with_fresh_etag(client: &Client, id: &str, body: &CustomRoleUpdate) -> Result<Option<()>, ibmcloud::Error> {
    let wanted: BTreeSet<&String> = body.actions.iter().collect();
    let shows_change = |role: &ibmcloud::CustomRole| {
        role.display_name == body.display_name
            && role.description.as_deref().unwrap_or_default() == body.description.as_deref().unwrap_or_default()
            && role.actions.iter().collect::<BTreeSet<_>>() == wanted
    };
    let write = |_current, etag: String| async move { client.replace_custom_role(id, &etag, body).await.map(|_| ()) };
    write_with_fresh_etag(|| client.get_custom_role(id), shows_change, write, is_stale_etag).await
}

/// Reads the role until it is visible and `ready` holds, within the consistency bound.
async fn wait_for_role(
    ctx: &Ctx<ProviderState>,
    id: &str,
    ready: impl Fn(&ibmcloud::CustomRole) -> bool,
) -> OpResult<ibmcloud::CustomRole> {
    let client = &ctx.provider()?.client;
    let get = || async move { client.get_custom_role(id).await.map(|found| found.map(|(role, _etag)| role)) };
    wait_until_visible(ctx, VISIBILITY_TIMEOUT, &format!("custom role {id}"), get, ready).await
}

fn create_error(name: &str, err: &ibmcloud::Error) -> OpError {
    if let Some(conflict) = ibmcloud::role_conflict(err) {
        let existing = conflict.role;
        return OpError::at(
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
    api_error(&format!("creating custom role {name}"), err).into()
}

/// The filters of `list "ibmqr_custom_role"`.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ListFilter {
    service: Tf<String>,
}

#[async_trait]
impl ListResource<ProviderState> for CustomRole {
    type Filter = ListFilter;

    fn list_schema() -> Schema {
        Schema::new(
            0,
            Block::new("The account's custom roles of one service. IBM's platform and service roles are never listed.").attr(
                Attribute::string("service")
                    .optional()
                    .describe("The service whose custom roles are listed; `quantum-computing` when left out."),
            ),
        )
    }

    async fn list(&self, ctx: &Ctx<ProviderState>, request: ListRequest<ListFilter>) -> OpResult<Vec<Listed<Model>>> {
        let service = request.filter.service.into_option().unwrap_or_else(|| DEFAULT_SERVICE.to_string());
        let client = &ctx.provider()?.client;
        // Fresh, not the per-process role catalog: a query reports what exists now.
        let roles = client.list_roles(&service).await.context(format_args!("listing the custom roles of service {service}"))?;
        let mut listed: Vec<Listed<Model>> =
            roles.custom_roles.iter().map(|role| Listed { display_name: role.name.clone(), state: Model::from_role(role) }).collect();
        listed.sort_by(|a, b| a.display_name.cmp(&b.display_name));
        Ok(listed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::{from_value, resource, to_value};

    fn validate(json: serde_json::Value) -> Vec<String> {
        let role = resource::<ProviderState, _>(CustomRole);
        let config = Value::from_json(&json, role.value_type()).expect("value");
        role.validate(&config).0.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect()
    }

    #[test]
    fn validate_names_the_bad_attribute() {
        let paths = validate(serde_json::json!({"name": "qiskit-user", "display_name": "", "actions": []}));
        assert_eq!(paths, ["name", "display_name", "actions"]);
        let paths = validate(serde_json::json!({"name": "Q", "display_name": "q", "actions": ["read"], "description": ""}));
        assert_eq!(paths, ["description", "actions"]);
    }

    #[test]
    fn validate_accepts_a_good_role_and_skips_unknowns() {
        let good =
            serde_json::json!({"name": "QiskitRuntimeUser", "display_name": "Qiskit user", "actions": ["quantum-computing.job.read"]});
        assert!(validate(good).is_empty());
        let role = resource::<ProviderState, _>(CustomRole);
        let mut config = Value::from_json(&serde_json::json!({"display_name": "x", "actions": []}), role.value_type()).expect("value");
        config.set("name", Value::Unknown);
        config.set("actions", Value::Set(vec![Value::Unknown]));
        assert!(!role.validate(&config).has_errors());
    }

    #[test]
    fn state_model_round_trips() {
        let m = Model {
            id: Tf::Known("abc".into()),
            name: Tf::Known("QiskitRuntimeUser".into()),
            display_name: Tf::Known("User".into()),
            description: Tf::Null,
            actions: Tf::Known(vec![Tf::Known("quantum-computing.job.read".to_string())]),
            service: Tf::Known("quantum-computing".into()),
            crn: Tf::Known("crn:x".into()),
        };
        let v = to_value(&m, &CustomRole::schema().value_type()).expect("encodes");
        assert_eq!(from_value::<Model>(&v).expect("decodes"), m);
    }
}
