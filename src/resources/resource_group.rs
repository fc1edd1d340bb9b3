//! `ibmqr_resource_group`: a Resource Manager resource group. Renamed in place; deleting one that
//! still holds instances waits while they are being reclaimed, then fails naming what is left.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::framework::legacy::{state_from, Ctx, Resource, StateResult};
use crate::framework::timeouts::{timeout_for, timeouts_block, validate_timeouts};
use crate::framework::{from_value, to_value, Attribute, AttributePath, Block, Diagnostics, Schema, Value};
use crate::ibmcloud::resource_controller::InstanceFilter;
use crate::ibmcloud::resource_manager::{ResourceGroup as Group, GROUP_NAME_TAKEN};
use crate::ibmcloud::{self, poll_until, Client, Poll};

use super::{found_for_import, legacy_wait_until_visible, provider_and, provider_and_both};
use crate::configured::{api_error, provider};
use crate::plan_checks::check_resource_group_name;

pub const TYPE_NAME: &str = "ibmqr_resource_group";
const TIMEOUT_OPS: [&str; 2] = ["create", "delete"];
/// IBM's reads may miss a new or renamed group for a while (§0.5: up to minutes).
const DEFAULT_CREATE_TIMEOUT: Duration = Duration::from_secs(300);
const DEFAULT_DELETE_TIMEOUT: Duration = Duration::from_secs(1200);

pub struct ResourceGroup;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Model {
    id: Option<String>,
    name: String,
    crn: Option<String>,
    state: Option<String>,
    is_default: Option<bool>,
    timeouts: Option<serde_json::Value>,
}

impl Model {
    fn from_group(group: &Group, timeouts: Option<serde_json::Value>) -> Self {
        Model {
            id: Some(group.id.clone()),
            name: group.name.clone(),
            crn: Some(group.crn.clone()),
            state: Some(group.state.clone()),
            is_default: Some(group.default),
            timeouts,
        }
    }
}

fn encode(model: &Model) -> Result<Value, Diagnostics> {
    Ok(to_value(model, &ResourceGroup.schema().value_type())?)
}

#[async_trait]
impl Resource for ResourceGroup {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new("A resource group, to hold Qiskit Runtime instances and scope access policies.")
                .attr(Attribute::string("id").computed().describe("The group's ID (32 hex digits)."))
                .attr(Attribute::string("name").required().describe("Name, unique in the account. Renamed in place."))
                .attr(Attribute::string("crn").computed().describe("The group's CRN."))
                .attr(Attribute::string("state").computed().describe("State, e.g. `ACTIVE`."))
                .attr(Attribute::bool("is_default").computed().describe("True for the account's default group."))
                .block(timeouts_block(&TIMEOUT_OPS)),
        )
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = validate_timeouts(config, &TIMEOUT_OPS);
        if let Some(Value::String(name)) = config.get("name") {
            check_resource_group_name(name, &mut diags);
        }
        diags
    }

    async fn create(&self, ctx: &Ctx, planned: &Value, _config: &Value) -> StateResult {
        let (state, model) = match provider_and::<Model>(ctx, planned) {
            Ok(opened) => opened,
            Err(d) => return (None, d),
        };
        let client = &state.client;
        let created = match client.create_resource_group(&model.name).await {
            Ok(g) => g,
            Err(e) => return (None, create_error(client, &model.name, &e).await),
        };
        // From here on the group exists: every answer keeps it in state.
        let mut result = Model {
            id: Some(created.id.clone()),
            crn: Some(created.crn.clone()),
            state: Some("ACTIVE".into()),
            is_default: Some(false),
            ..model.clone()
        };
        let timeout = timeout_for(planned, "create", DEFAULT_CREATE_TIMEOUT);
        let name = model.name.clone();
        match wait_for_group(ctx, client, &created.id, timeout, |g| g.name == name).await {
            Ok(group) => result = Model::from_group(&group, model.timeouts.clone()),
            Err(d) => return (encode(&result).ok(), d),
        }
        state_from(encode(&result))
    }

    async fn read(&self, ctx: &Ctx, state_value: &Value) -> Result<Option<Value>, Diagnostics> {
        let state = provider(ctx)?;
        let prior: Model = from_value(state_value)?;
        let Some(id) = prior.id.clone() else { return Ok(None) };
        match state.client.get_resource_group(&id).await {
            Ok(Some(group)) => Ok(Some(encode(&Model::from_group(&group, prior.timeouts))?)),
            // Gone behind Terraform's back: dropped from state at once; the next plan recreates it.
            Ok(None) => Ok(None),
            Err(e) => Err(api_error(&format!("reading resource group {}", prior.name), &e)),
        }
    }

    async fn update(&self, ctx: &Ctx, prior_value: &Value, planned: &Value, _config: &Value) -> StateResult {
        let (state, prior, model) = match provider_and_both::<Model>(ctx, prior_value, planned) {
            Ok(opened) => opened,
            Err(d) => return (None, d),
        };
        let Some(id) = prior.id.clone() else {
            return (None, Diagnostics::error("Resource group has no id", "the state of this resource group has no id; import it again"));
        };
        let client = &state.client;
        if prior.name != model.name {
            if let Err(e) = client.rename_resource_group(&id, &model.name).await {
                return (None, create_error(client, &model.name, &e).await);
            }
        }
        let renamed = Model { name: model.name.clone(), timeouts: model.timeouts.clone(), ..prior.clone() };
        let name = model.name.clone();
        // A rename shows up in reads as fast as a new group does: the create limit bounds both.
        let timeout = timeout_for(planned, "create", DEFAULT_CREATE_TIMEOUT);
        match wait_for_group(ctx, client, &id, timeout, |g| g.name == name).await {
            Ok(group) => state_from(encode(&Model::from_group(&group, model.timeouts))),
            Err(d) => (encode(&renamed).ok(), d),
        }
    }

    async fn delete(&self, ctx: &Ctx, prior_value: &Value) -> Diagnostics {
        let (state, prior) = match provider_and::<Model>(ctx, prior_value) {
            Ok(opened) => opened,
            Err(d) => return d,
        };
        let Some(id) = prior.id.clone() else { return Diagnostics::new() };
        let client = &state.client;
        let timeout = timeout_for(prior_value, "delete", DEFAULT_DELETE_TIMEOUT);
        let doing = format!("deleting resource group {}", prior.name);
        // Refused while instances remain: those being reclaimed go away by themselves, so wait
        // for them; anything still live will not, so fail at once naming it.
        let outcome = poll_until(&ctx.cancel, timeout, &format!("resource group {} to empty", prior.name), || async {
            let refusal = match client.delete_resource_group(&id).await {
                Ok(()) => return Ok(Poll::Ready(Ok(()))),
                Err(e) => e,
            };
            let left = leftovers(client, &id).await?;
            if left.live.is_empty() && left.reclaiming.is_empty() {
                return Ok(Poll::Ready(Err(api_error(&doing, &refusal))));
            }
            if !left.live.is_empty() {
                return Ok(Poll::Ready(Err(not_empty(&prior.name, &left, &refusal))));
            }
            Ok(Poll::Pending(format!("holding instances being reclaimed: {}", left.reclaiming.join(", "))))
        })
        .await;
        match outcome {
            Ok(Ok(())) => Diagnostics::new(),
            Ok(Err(d)) => d,
            Err(ibmcloud::Error::WaitTimeout(_)) => match leftovers(client, &id).await {
                Ok(left) => Diagnostics::error(
                    "Resource group still holds instances",
                    format!(
                        "{doing}: after {timeout:?} it still holds instances pending reclamation: {}. \
                         Purge them (set purge_on_destroy = true on ibmqr_instance, or `ibmcloud resource reclamation-delete`), \
                         or raise timeouts.delete.",
                        left.reclaiming.join(", ")
                    ),
                ),
                Err(e) => api_error(&doing, &e),
            },
            Err(e) => api_error(&doing, &e),
        }
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Value, Diagnostics> {
        let state = provider(ctx)?;
        let group = found_for_import(state.client.get_resource_group(id).await, &format!("importing resource group {id}"), || {
            Diagnostics::error(
                "Resource group not found",
                format!("no resource group has the id {id:?}. Import takes the group's ID (32 hex digits, `ibmcloud resource groups`), not its name."),
            )
        })?;
        encode(&Model::from_group(&group, None))
    }
}

/// What keeps a group from being deleted.
struct Leftovers {
    /// Live instances (active, provisioning, ...): they stay until someone deletes them.
    live: Vec<String>,
    /// Deleted instances waiting for reclamation.
    reclaiming: Vec<String>,
}

async fn leftovers(client: &Client, group_id: &str) -> Result<Leftovers, ibmcloud::Error> {
    let filter = InstanceFilter { resource_group_id: Some(group_id), ..Default::default() };
    let live = client.list_resource_instances(&filter).await?.into_iter().map(|i| format!("{} ({}, {})", i.name, i.crn, i.state)).collect();
    let reclaiming = client
        .list_reclamations(None, Some(group_id))
        .await?
        .into_iter()
        .map(|r| if r.entity_crn.is_empty() { r.resource_instance_id } else { r.entity_crn })
        .collect();
    Ok(Leftovers { live, reclaiming })
}

fn not_empty(name: &str, left: &Leftovers, refusal: &ibmcloud::Error) -> Diagnostics {
    let mut all = left.live.clone();
    all.extend(left.reclaiming.iter().map(|c| format!("{c} (pending reclamation)")));
    Diagnostics::error(
        "Resource group still holds instances",
        format!("deleting resource group {name}: it still holds {}. Delete them first (IBM said: {refusal}).", all.join(", ")),
    )
}

/// Reads the group until it is visible and `ready` holds, within `timeout`.
async fn wait_for_group(
    ctx: &Ctx,
    client: &Client,
    id: &str,
    timeout: Duration,
    ready: impl Fn(&Group) -> bool,
) -> Result<Group, Diagnostics> {
    let get = || async move { client.get_resource_group(id).await };
    legacy_wait_until_visible(ctx, timeout, &format!("resource group {id}"), get, ready).await
}

/// A duplicate name names the existing group and how to import it.
async fn create_error(client: &Client, name: &str, err: &ibmcloud::Error) -> Diagnostics {
    if err.api_code() == Some(GROUP_NAME_TAKEN) {
        let existing = client.list_resource_groups(Some(name), false).await.ok().and_then(|l| l.into_iter().find(|g| g.name == name));
        let hint = match existing {
            Some(g) => {
                format!(" To manage it with Terraform, import it:\n  terraform import {TYPE_NAME}.<name> {}\nor choose another name.", g.id)
            }
            None => " Choose another name.".to_string(),
        };
        return Diagnostics::attr_error(
            AttributePath::attr("name"),
            "Resource group name already used",
            format!("a resource group named {name:?} already exists in the account.{hint}"),
        );
    }
    api_error(&format!("writing resource group {name}"), err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_names_the_attribute() {
        let v =
            Value::from_json(&serde_json::json!({"name": " dev", "timeouts": {"delete": "soon"}}), &ResourceGroup.schema().value_type())
                .expect("value");
        let d = ResourceGroup.validate(&v);
        let paths: Vec<String> = d.0.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect();
        assert!(paths.iter().any(|p| p == "name"), "{paths:?}");
        assert!(paths.iter().any(|p| p.contains("delete")), "{paths:?}");
    }
}
