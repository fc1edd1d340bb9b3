//! `ibmqr_resource_group`: a Resource Manager resource group. Renamed in place. Deleting one that
//! still holds instances waits only while IBM is reclaiming them; instances that are live, or
//! deleted and waiting out their reclamation period (days), fail the delete at once, named with
//! the fix, unless `purge_reclamations_on_destroy` asks the provider to reclaim them itself.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::configured::{api_error, ProviderState};
use crate::framework::timeouts::timeouts_block;
use crate::framework::{
    Attribute, AttributePath, Block, Context, Ctx, ListRequest, ListResource, Listed, OpError, OpResult, Resource, Schema, Tf, Timeouts,
    Value,
};
use crate::ibmcloud::resource_controller::{InstanceFilter, Reclamation};
use crate::ibmcloud::resource_manager::{ResourceGroup as Group, GROUP_NAME_TAKEN};
use crate::ibmcloud::{self, poll_until, Client, Poll};
use crate::plan_checks::with_resource_group_name_checks;

use super::wait_until_visible;

pub const TYPE_NAME: &str = "ibmqr_resource_group";
const TIMEOUT_OPS: [&str; 2] = ["create", "delete"];
/// IBM's reads may miss a new or renamed group for a while (§0.5: up to minutes).
const DEFAULT_CREATE_TIMEOUT: Duration = Duration::from_secs(300);
/// Bounds only the wait while IBM reclaims instances of the group.
const DEFAULT_DELETE_TIMEOUT: Duration = Duration::from_secs(1200);
/// The `comment` IBM records on the reclamations this resource reclaims.
const RECLAIM_COMMENT: &str = "purge_reclamations_on_destroy";

pub struct ResourceGroup;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Model {
    id: Tf<String>,
    name: Tf<String>,
    crn: Tf<String>,
    state: Tf<String>,
    is_default: Tf<bool>,
    purge_reclamations_on_destroy: Tf<bool>,
    timeouts: Timeouts,
}

impl Model {
    /// State from what IBM returned, with the settings IBM does not store (what destroy does,
    /// timeouts) taken from `config_only`: the plan, or the prior state.
    fn from_group(group: &Group, config_only: &Model) -> Self {
        Model {
            id: Tf::Known(group.id.clone()),
            name: Tf::Known(group.name.clone()),
            crn: Tf::Known(group.crn.clone()),
            state: Tf::Known(group.state.clone()),
            is_default: Tf::Known(group.default),
            purge_reclamations_on_destroy: Tf::Known(config_only.purge_reclamations_on_destroy()),
            timeouts: config_only.timeouts.clone(),
        }
    }

    /// Null (an import, or state written before the attribute existed) means the default, false.
    fn purge_reclamations_on_destroy(&self) -> bool {
        self.purge_reclamations_on_destroy.known().copied().unwrap_or(false)
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
                .attr(Attribute::bool("purge_reclamations_on_destroy").default(Value::Bool(false)).describe(
                    "On destroy, reclaim the group's deleted instances that are pending reclamation, then delete the group. \
                     Without it, such instances fail the destroy at once, named with the commands that reclaim them. \
                     Changing it makes no request.",
                ))
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
        Ok(Model::from_group(&group, &planned))
    }

    async fn read(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<Option<Model>> {
        let Tf::Known(id) = &prior.id else { return Ok(None) };
        let client = &ctx.provider()?.client;
        let doing = format!("reading resource group {}", prior.name.as_deref().unwrap_or(id));
        // None: gone behind Terraform's back, dropped from state at once; the next plan recreates it.
        let found = client.get_resource_group(id).await.context(doing)?;
        Ok(found.map(|group| Model::from_group(&group, &prior)))
    }

    async fn update(&self, ctx: &Ctx<ProviderState>, prior: Model, planned: Model, _config: Model) -> OpResult<Model> {
        let id = prior.id.require("id")?;
        let name = planned.name.require("name")?;
        let client = &ctx.provider()?.client;
        // What destroy does and the timeouts are the provider's own: changing them asks nothing of IBM.
        let config_only = Model {
            purge_reclamations_on_destroy: Tf::Known(planned.purge_reclamations_on_destroy()),
            timeouts: planned.timeouts.clone(),
            ..prior.clone()
        };
        if prior.name.known() == Some(name) {
            return Ok(config_only);
        }
        let renamed = client.rename_resource_group(id, name).await;
        if let Err(refusal) = &renamed {
            return Err(create_error(client, name, refusal).await);
        }
        ctx.save(&Model { name: planned.name.clone(), ..config_only });
        // A rename shows up in reads as fast as a new group does: the create limit bounds both.
        let timeout = planned.timeouts.limit("create", DEFAULT_CREATE_TIMEOUT);
        let group = wait_for_group(ctx, id, timeout, |g| g.name == *name).await?;
        Ok(Model::from_group(&group, &planned))
    }

    async fn delete(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<()> {
        let Tf::Known(id) = &prior.id else { return Ok(()) };
        let client = &ctx.provider()?.client;
        let name = prior.name.as_deref().unwrap_or(id);
        let purge = prior.purge_reclamations_on_destroy();
        let timeout = prior.timeouts.limit("delete", DEFAULT_DELETE_TIMEOUT);
        let doing = format!("deleting resource group {name}");
        // IBM refuses while the group holds instances. Only a reclaim in progress ends by itself,
        // so only that is waited for; what nobody is working on fails at once (see next_step).
        let outcome = poll_until(&ctx.cancel, timeout, &format!("resource group {name} to empty"), || async {
            let Err(refusal) = client.delete_resource_group(id).await else { return Ok(Poll::Ready(Ok(()))) };
            let left = leftovers(client, id).await?;
            Ok(match next_step(&left, purge) {
                Next::Report => Poll::Ready(Err(refusal).context(&doing)),
                Next::FailLive => Poll::Ready(Err(not_empty(name, &left, &refusal))),
                Next::FailPending(pending) => Poll::Ready(Err(pending_reclamation(client, name, &pending).await)),
                Next::Reclaim(pending) => {
                    for reclamation in &pending {
                        client.reclaim(&reclamation.id, RECLAIM_COMMENT).await?;
                    }
                    Poll::Pending(format!("holding instances being reclaimed: {}", instances(&pending)))
                }
                Next::AwaitReclaim(reclaiming) => Poll::Pending(format!("holding instances IBM is reclaiming: {}", instances(&reclaiming))),
            })
        })
        .await;
        match outcome {
            Ok(deleted) => deleted,
            Err(ibmcloud::Error::WaitTimeout(waited)) => Err(OpError::new(
                "Resource group still holds instances being reclaimed",
                format!("{doing}: {waited}. IBM has not finished reclaiming them: destroy again later, or raise timeouts.delete."),
            )),
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
    /// Live instances (active, provisioning, ...), described: they stay until someone deletes them.
    live: Vec<String>,
    /// Reclamations of the group's deleted instances, in any state.
    reclamations: Vec<Reclamation>,
}

async fn leftovers(client: &Client, group_id: &str) -> Result<Leftovers, ibmcloud::Error> {
    let filter = InstanceFilter { resource_group_id: Some(group_id), ..Default::default() };
    let live = client.list_resource_instances(&filter).await?.into_iter().map(|i| format!("{} ({}, {})", i.name, i.crn, i.state)).collect();
    let reclamations = client.list_reclamations(None, Some(group_id)).await?;
    Ok(Leftovers { live, reclamations })
}

/// What a refused delete leads to, given what the group still holds.
#[derive(Debug, PartialEq)]
enum Next<'a> {
    /// Nothing the provider can see explains the refusal: IBM's answer is the error.
    Report,
    /// Live instances stay until someone deletes them.
    FailLive,
    /// Reclamations nobody is working on (above all `SCHEDULED`, waiting out a retention period
    /// of days): waiting would never end, so the delete fails naming them and the fix.
    FailPending(Vec<&'a Reclamation>),
    /// The same, with `purge_reclamations_on_destroy`: reclaim them, then look again.
    Reclaim(Vec<&'a Reclamation>),
    /// IBM is reclaiming these: they leave the group by themselves, soon.
    AwaitReclaim(Vec<&'a Reclamation>),
}

fn next_step(left: &Leftovers, purge: bool) -> Next<'_> {
    if !left.live.is_empty() {
        return Next::FailLive;
    }
    let (reclaiming, idle): (Vec<&Reclamation>, Vec<&Reclamation>) = left.reclamations.iter().partition(|r| r.is_reclaiming());
    if !idle.is_empty() {
        // Even beside reclaiming ones: an idle reclamation alone holds the group for days.
        return if purge { Next::Reclaim(idle) } else { Next::FailPending(idle) };
    }
    if reclaiming.is_empty() {
        Next::Report
    } else {
        Next::AwaitReclaim(reclaiming)
    }
}

fn instances(reclamations: &[&Reclamation]) -> String {
    reclamations.iter().map(|r| r.instance()).collect::<Vec<_>>().join(", ")
}

fn not_empty(name: &str, left: &Leftovers, refusal: &ibmcloud::Error) -> OpError {
    let mut all = left.live.clone();
    all.extend(left.reclamations.iter().map(|r| format!("{} (pending reclamation)", r.instance())));
    OpError::new(
        "Resource group still holds instances",
        format!("deleting resource group {name}: it still holds {}. Delete them first (IBM said: {refusal}).", all.join(", ")),
    )
}

/// The error for deleted instances left waiting out their reclamation period, each named (its
/// name read from IBM, which still returns deleted instances) with the command that reclaims it.
async fn pending_reclamation(client: &Client, group: &str, pending: &[&Reclamation]) -> OpError {
    let mut named = Vec::new();
    for reclamation in pending {
        // The name only makes the message friendlier: without it the CRN still names the instance.
        let instance_name = client.get_resource_instance(&reclamation.resource_instance_id).await.ok().flatten().map(|i| i.name);
        named.push((instance_name, *reclamation));
    }
    pending_reclamation_error(group, &named)
}

fn pending_reclamation_error(group: &str, pending: &[(Option<String>, &Reclamation)]) -> OpError {
    let listed: Vec<String> = pending
        .iter()
        .map(|(name, r)| match name {
            Some(name) => format!("  - {name} ({}), reclamation {} ({})", r.instance(), r.id, r.state),
            None => format!("  - {}, reclamation {} ({})", r.instance(), r.id, r.state),
        })
        .collect();
    let commands: Vec<String> = pending.iter().map(|(_, r)| format!("  ibmcloud resource reclamation-delete {}", r.id)).collect();
    OpError::new(
        "Resource group still holds instances pending reclamation",
        format!(
            "deleting resource group {group}: it still holds deleted instances that IBM keeps pending reclamation for days, \
             so waiting would not help:\n{}\n\
             Reclaim them, then destroy again:\n{}\n\
             Or set purge_reclamations_on_destroy = true on this ibmqr_resource_group, record it with \
             `terraform apply -target=<its address>`, and destroy again: the provider then reclaims them itself. \
             (purge_on_destroy = true on ibmqr_instance purges each instance as it is destroyed.)",
            listed.join("\n"),
            commands.join("\n"),
        ),
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
            .map(|group| Listed { display_name: group.name.clone(), state: Model::from_group(group, &Model::default()) })
            .collect();
        listed.sort_by(|a, b| a.display_name.cmp(&b.display_name));
        Ok(listed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::resource;

    #[test]
    fn validate_names_the_attribute() {
        let group = resource::<ProviderState, _>(ResourceGroup);
        let v = Value::from_json(&serde_json::json!({"name": " dev", "timeouts": {"delete": "soon"}}), group.value_type()).expect("value");
        let d = group.validate(&v);
        let paths: Vec<String> = d.0.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect();
        assert!(paths.iter().any(|p| p == "name"), "{paths:?}");
        assert!(paths.iter().any(|p| p.contains("delete")), "{paths:?}");
    }

    fn reclamation(id: &str, state: &str) -> Reclamation {
        Reclamation {
            id: id.into(),
            resource_instance_id: format!("guid-{id}"),
            entity_crn: format!("crn:v1:bluemix:public:quantum-computing:us-east:a/acc:guid-{id}::"),
            state: state.into(),
            ..Default::default()
        }
    }

    fn detail(error: OpError) -> String {
        error.diagnostics.0.iter().map(|d| d.detail.clone()).collect()
    }

    fn holding(live: &[&str], reclamations: &[Reclamation]) -> Leftovers {
        Leftovers { live: live.iter().map(|s| s.to_string()).collect(), reclamations: reclamations.to_vec() }
    }

    #[test]
    fn a_scheduled_reclamation_fails_at_once_or_is_reclaimed_never_waited_on() {
        let left = holding(&[], &[reclamation("r1", "SCHEDULED")]);
        assert_eq!(next_step(&left, false), Next::FailPending(vec![&left.reclamations[0]]));
        assert_eq!(next_step(&left, true), Next::Reclaim(vec![&left.reclamations[0]]));
    }

    #[test]
    fn only_a_reclamation_ibm_is_reclaiming_is_waited_for() {
        let left = holding(&[], &[reclamation("r1", "RECLAIMING")]);
        assert_eq!(next_step(&left, false), Next::AwaitReclaim(vec![&left.reclamations[0]]));
        assert_eq!(next_step(&left, true), Next::AwaitReclaim(vec![&left.reclamations[0]]));
    }

    /// IBM's docs write the states in upper case; lower case is accepted too (UNCERTAIN).
    #[test]
    fn states_are_read_in_either_case() {
        let left = holding(&[], &[reclamation("r1", "reclaiming"), reclamation("r2", "scheduled")]);
        assert_eq!(next_step(&left, false), Next::FailPending(vec![&left.reclamations[1]]));
        let reclaiming_only = holding(&[], &[reclamation("r1", "Reclaiming")]);
        assert_eq!(next_step(&reclaiming_only, false), Next::AwaitReclaim(vec![&reclaiming_only.reclamations[0]]));
    }

    /// One reclamation nobody is working on holds the group for days, even beside one being reclaimed.
    #[test]
    fn a_scheduled_reclamation_beside_a_reclaiming_one_still_fails_or_is_reclaimed() {
        let left = holding(&[], &[reclamation("r1", "RECLAIMING"), reclamation("r2", "SCHEDULED")]);
        assert_eq!(next_step(&left, false), Next::FailPending(vec![&left.reclamations[1]]));
        assert_eq!(next_step(&left, true), Next::Reclaim(vec![&left.reclamations[1]]));
    }

    /// A state the provider does not know is not IBM at work: never waited on.
    #[test]
    fn an_unknown_state_is_not_waited_on() {
        let left = holding(&[], &[reclamation("r1", "RESTORING")]);
        assert_eq!(next_step(&left, false), Next::FailPending(vec![&left.reclamations[0]]));
    }

    #[test]
    fn live_instances_fail_even_with_purge() {
        let left = holding(&["qr (crn:x, active)"], &[reclamation("r1", "RECLAIMING")]);
        assert_eq!(next_step(&left, false), Next::FailLive);
        assert_eq!(next_step(&left, true), Next::FailLive);
        let refusal = ibmcloud::Error::Transport("refused".into());
        let message = detail(not_empty("lab", &left, &refusal));
        assert!(message.contains("qr (crn:x, active)") && message.contains("guid-r1"), "{message}");
    }

    #[test]
    fn an_unexplained_refusal_is_reported() {
        assert_eq!(next_step(&holding(&[], &[]), true), Next::Report);
    }

    #[test]
    fn the_pending_error_names_each_instance_and_its_reclaim_command() {
        let (r1, r2) = (reclamation("r1", "SCHEDULED"), reclamation("r2", "SCHEDULED"));
        let message = detail(pending_reclamation_error("lab", &[(Some("lab-open".into()), &r1), (None, &r2)]));
        for expected in [
            "lab-open (crn:v1:bluemix:public:quantum-computing:us-east:a/acc:guid-r1::)",
            "crn:v1:bluemix:public:quantum-computing:us-east:a/acc:guid-r2::",
            "ibmcloud resource reclamation-delete r1",
            "ibmcloud resource reclamation-delete r2",
            "purge_reclamations_on_destroy = true",
        ] {
            assert!(message.contains(expected), "{expected:?} missing from:\n{message}");
        }
    }

    /// Import and list read a group with no configuration: what destroy does takes the default.
    #[test]
    fn config_only_settings_default_when_unknown_and_survive_a_read() {
        let group = Group { id: "g".into(), name: "lab".into(), ..Default::default() };
        assert_eq!(Model::from_group(&group, &Model::default()).purge_reclamations_on_destroy, Tf::Known(false));
        let prior = Model { purge_reclamations_on_destroy: Tf::Known(true), ..Model::default() };
        assert_eq!(Model::from_group(&group, &prior).purge_reclamations_on_destroy, Tf::Known(true));
    }
}
