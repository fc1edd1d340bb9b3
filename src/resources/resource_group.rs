//! `ibmqr_resource_group`: a Resource Manager resource group. Renamed in place; deleting one that
//! still holds instances waits while they are being reclaimed, then fails naming what is left.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::configured::{api_error, ProviderState};
use crate::framework::timeouts::timeouts_block;
use crate::framework::{
    Attribute, AttributePath, Block, Context, Ctx, ListRequest, ListResource, Listed, OpError, OpResult, Resource, Schema, Tf, Timeouts,
};
use crate::ibmcloud::resource_controller::InstanceFilter;
use crate::ibmcloud::resource_manager::{ResourceGroup as Group, GROUP_NAME_TAKEN};
use crate::ibmcloud::{self, poll_until, Client, Poll};
use crate::plan_checks::with_resource_group_name_checks;

use super::wait_until_visible;

pub const TYPE_NAME: &str = "ibmqr_resource_group";
const TIMEOUT_OPS: [&str; 2] = ["create", "delete"];
/// IBM's reads may miss a new or renamed group for a while (§0.5: up to minutes).
const DEFAULT_CREATE_TIMEOUT: Duration = Duration::from_secs(300);
const DEFAULT_DELETE_TIMEOUT: Duration = Duration::from_secs(1200);

pub struct ResourceGroup;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Model {
    id: Tf<String>,
    name: Tf<String>,
    crn: Tf<String>,
    state: Tf<String>,
    is_default: Tf<bool>,
    timeouts: Timeouts,
}

impl Model {
    fn from_group(group: &Group, timeouts: Timeouts) -> Self {
        Model {
            id: Tf::Known(group.id.clone()),
            name: Tf::Known(group.name.clone()),
            crn: Tf::Known(group.crn.clone()),
            state: Tf::Known(group.state.clone()),
            is_default: Tf::Known(group.default),
            timeouts,
        }
    }
}

#[async_trait]
impl Resource<ProviderState> for ResourceGroup {
    type Model = Model;
    const TYPE_NAME: &'static str = TYPE_NAME;

    fn schema() -> Schema {
        Schema::new(
            0,
            Block::new("A resource group, to hold Qiskit Runtime instances and scope access policies.")
                .attr(Attribute::string("id").computed().describe("The group's ID (32 hex digits)."))
                .attr(with_resource_group_name_checks(
                    Attribute::string("name").required().describe("Name, unique in the account. Renamed in place."),
                ))
                .attr(Attribute::string("crn").computed().describe("The group's CRN."))
                .attr(Attribute::string("state").computed().describe("State, e.g. `ACTIVE`."))
                .attr(Attribute::bool("is_default").computed().describe("True for the account's default group."))
                .block(timeouts_block(&TIMEOUT_OPS)),
        )
    }

    async fn create(&self, ctx: &Ctx<ProviderState>, planned: Model, _config: Model) -> OpResult<Model> {
        let client = &ctx.provider()?.client;
        let name = planned.name.require("name")?;
        let created = client.create_resource_group(name).await;
        if let Err(refusal) = &created {
            return Err(create_error(client, name, refusal).await);
        }
        let created = created.context(format_args!("writing resource group {name}"))?;
        ctx.save(&Model {
            id: Tf::Known(created.id.clone()),
            crn: Tf::Known(created.crn.clone()),
            state: Tf::Known("ACTIVE".into()),
            is_default: Tf::Known(false),
            ..planned.clone()
        });
        let timeout = planned.timeouts.limit("create", DEFAULT_CREATE_TIMEOUT);
        let group = wait_for_group(ctx, &created.id, timeout, |g| g.name == *name).await?;
        Ok(Model::from_group(&group, planned.timeouts))
    }

    async fn read(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<Option<Model>> {
        let Tf::Known(id) = &prior.id else { return Ok(None) };
        let client = &ctx.provider()?.client;
        let doing = format!("reading resource group {}", prior.name.as_deref().unwrap_or(id));
        // None: gone behind Terraform's back, dropped from state at once; the next plan recreates it.
        let found = client.get_resource_group(id).await.context(doing)?;
        Ok(found.map(|group| Model::from_group(&group, prior.timeouts.clone())))
    }

    async fn update(&self, ctx: &Ctx<ProviderState>, prior: Model, planned: Model, _config: Model) -> OpResult<Model> {
        let id = prior.id.require("id")?;
        let name = planned.name.require("name")?;
        let client = &ctx.provider()?.client;
        if prior.name.known() != Some(name) {
            let renamed = client.rename_resource_group(id, name).await;
            if let Err(refusal) = &renamed {
                return Err(create_error(client, name, refusal).await);
            }
        }
        ctx.save(&Model { name: planned.name.clone(), timeouts: planned.timeouts.clone(), ..prior.clone() });
        // A rename shows up in reads as fast as a new group does: the create limit bounds both.
        let timeout = planned.timeouts.limit("create", DEFAULT_CREATE_TIMEOUT);
        let group = wait_for_group(ctx, id, timeout, |g| g.name == *name).await?;
        Ok(Model::from_group(&group, planned.timeouts))
    }

    async fn delete(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<()> {
        let Tf::Known(id) = &prior.id else { return Ok(()) };
        let client = &ctx.provider()?.client;
        let name = prior.name.as_deref().unwrap_or(id);
        let timeout = prior.timeouts.limit("delete", DEFAULT_DELETE_TIMEOUT);
        let doing = format!("deleting resource group {name}");
        // Refused while instances remain: those being reclaimed go away by themselves, so wait
        // for them; anything still live will not, so fail at once naming it.
        let outcome = poll_until(&ctx.cancel, timeout, &format!("resource group {name} to empty"), || async {
            let Err(refusal) = client.delete_resource_group(id).await else { return Ok(Poll::Ready(Ok(()))) };
            let left = leftovers(client, id).await?;
            if left.live.is_empty() && left.reclaiming.is_empty() {
                return Ok(Poll::Ready(Err(refusal).context(&doing)));
            }
            if !left.live.is_empty() {
                return Ok(Poll::Ready(Err(not_empty(name, &left, &refusal))));
            }
            Ok(Poll::Pending(format!("holding instances being reclaimed: {}", left.reclaiming.join(", "))))
        })
        .await;
        match outcome {
            Ok(deleted) => deleted,
            Err(ibmcloud::Error::WaitTimeout(_)) => {
                let left = leftovers(client, id).await.context(&doing)?;
                Err(OpError::new(
                    "Resource group still holds instances",
                    format!(
                        "{doing}: after {timeout:?} it still holds instances pending reclamation: {}. \
                         Purge them (set purge_on_destroy = true on ibmqr_instance, or `ibmcloud resource reclamation-delete`), \
                         or raise timeouts.delete.",
                        left.reclaiming.join(", ")
                    ),
                ))
            }
            Err(e) => Err(e).context(&doing),
        }
    }

    fn import_not_found(&self, id: &str) -> OpError {
        OpError::new(
            "Resource group not found",
            format!("no resource group has the id {id:?}. Import takes the group's ID (32 hex digits, `ibmcloud resource groups`), not its name."),
        )
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

fn not_empty(name: &str, left: &Leftovers, refusal: &ibmcloud::Error) -> OpError {
    let mut all = left.live.clone();
    all.extend(left.reclaiming.iter().map(|c| format!("{c} (pending reclamation)")));
    OpError::new(
        "Resource group still holds instances",
        format!("deleting resource group {name}: it still holds {}. Delete them first (IBM said: {refusal}).", all.join(", ")),
    )
}

/// Reads the group until it is visible and `ready` holds, within `timeout`.
async fn wait_for_group(ctx: &Ctx<ProviderState>, id: &str, timeout: Duration, ready: impl Fn(&Group) -> bool) -> OpResult<Group> {
    let client = &ctx.provider()?.client;
    let get = || async move { client.get_resource_group(id).await };
    wait_until_visible(ctx, timeout, &format!("resource group {id}"), get, ready).await
}

/// A duplicate name names the existing group and how to import it.
async fn create_error(client: &Client, name: &str, err: &ibmcloud::Error) -> OpError {
    if err.api_code() == Some(GROUP_NAME_TAKEN) {
        let existing = client.list_resource_groups(Some(name), false).await.ok().and_then(|l| l.into_iter().find(|g| g.name == name));
        let hint = match existing {
            Some(g) => {
                format!(" To manage it with Terraform, import it:\n  terraform import {TYPE_NAME}.<name> {}\nor choose another name.", g.id)
            }
            None => " Choose another name.".to_string(),
        };
        return OpError::at(
            AttributePath::attr("name"),
            "Resource group name already used",
            format!("a resource group named {name:?} already exists in the account.{hint}"),
        );
    }
    api_error(&format!("writing resource group {name}"), err).into()
}

/// `list "ibmqr_resource_group"` has no filters.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ListFilter {}

#[async_trait]
impl ListResource<ProviderState> for ResourceGroup {
    type Filter = ListFilter;

    fn list_schema() -> Schema {
        Schema::new(
            0,
            Block::new("The account's resource groups, except its default group, which IBM made and no configuration may destroy."),
        )
    }

    async fn list(&self, ctx: &Ctx<ProviderState>, _request: ListRequest<ListFilter>) -> OpResult<Vec<Listed<Model>>> {
        let client = &ctx.provider()?.client;
        let groups = client.list_resource_groups(None, false).await.context("listing the account's resource groups")?;
        let mut listed: Vec<Listed<Model>> = groups
            .iter()
            .filter(|group| !group.default)
            .map(|group| Listed { display_name: group.name.clone(), state: Model::from_group(group, Timeouts::default()) })
            .collect();
        listed.sort_by(|a, b| a.display_name.cmp(&b.display_name));
        Ok(listed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::{resource, Value};

    #[test]
    fn validate_names_the_attribute() {
        let group = resource::<ProviderState, _>(ResourceGroup);
        let v = Value::from_json(&serde_json::json!({"name": " dev", "timeouts": {"delete": "soon"}}), group.value_type()).expect("value");
        let d = group.validate(&v);
        let paths: Vec<String> = d.0.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect();
        assert!(paths.iter().any(|p| p == "name"), "{paths:?}");
        assert!(paths.iter().any(|p| p.contains("delete")), "{paths:?}");
    }
}
