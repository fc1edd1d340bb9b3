//! `ibmqr_access_group_members`: the complete static member list of one access group. Exclusive:
//! members added elsewhere are removed. `ibmqr_access_group_member` is the additive alternative.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::configured::ProviderState;
use crate::framework::{Attribute, AttributePath, Block, Check, Context, Ctx, IdentitySchema, OpError, OpResult, Resource, Schema, Tf};
use crate::ibmcloud::access_groups::MemberKind;
use crate::ibmcloud::{self, poll_until, Client, Poll};

pub const TYPE_NAME: &str = "ibmqr_access_group_members";
const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(120);

/// The three member attributes: the pattern of the IDs each holds, and the pattern in words,
/// which also says where the other kinds of member go.
pub const MEMBER_ATTRIBUTES: [(&str, &str, &str); 3] = [
    (
        "iam_ids",
        r"(?s)^IBMid-.+$",
        "a user's IAM ID, `IBMid-…`, not the email (`ibmqr_user_invite` exports it); \
         service IDs go in `service_ids`, trusted profiles in `profile_ids`",
    ),
    (
        "service_ids",
        r"(?s)^iam-ServiceId-.+$",
        "a service ID's IAM ID, `iam-ServiceId-…`; users go in `iam_ids`, trusted profiles in `profile_ids`",
    ),
    (
        "profile_ids",
        r"(?s)^iam-Profile-.+$",
        "a trusted profile's IAM ID, `iam-Profile-…`; users go in `iam_ids`, service IDs in `service_ids`",
    ),
];

pub struct AccessGroupMembers;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Model {
    id: Tf<String>,
    access_group_id: Tf<String>,
    /// Sets; vectors here so that single unknown elements survive the plan.
    iam_ids: Tf<Vec<Tf<String>>>,
    service_ids: Tf<Vec<Tf<String>>>,
    profile_ids: Tf<Vec<Tf<String>>>,
}

impl Model {
    fn desired(&self) -> BTreeSet<String> {
        [&self.iam_ids, &self.service_ids, &self.profile_ids]
            .into_iter()
            .filter_map(Tf::known)
            .flatten()
            .filter_map(Tf::known)
            .cloned()
            .collect()
    }

    /// The group: its attribute, or the ID alone (an import stub).
    fn group(&self) -> Option<&str> {
        self.access_group_id.as_deref().or(self.id.as_deref())
    }

    /// Fills the three sets from the group's members; an empty kind stays null when it was null.
    fn with_members(&self, group: &str, members: &BTreeSet<String>) -> Model {
        let of = |kind: MemberKind, prior: &Tf<Vec<Tf<String>>>| {
            let set: Vec<Tf<String>> = members.iter().filter(|m| MemberKind::of(m) == Some(kind)).cloned().map(Tf::Known).collect();
            if set.is_empty() && prior.is_null() {
                Tf::Null
            } else {
                Tf::Known(set)
            }
        };
        Model {
            id: Tf::Known(group.to_string()),
            access_group_id: Tf::Known(group.to_string()),
            iam_ids: of(MemberKind::User, &self.iam_ids),
            service_ids: of(MemberKind::Service, &self.service_ids),
            profile_ids: of(MemberKind::Profile, &self.profile_ids),
        }
    }
}

/// The group's static members, or `None` if the group is gone.
async fn current_members(client: &Client, group_id: &str) -> Result<Option<BTreeSet<String>>, ibmcloud::Error> {
    match client.list_static_members(group_id).await {
        Ok(list) => Ok(Some(list.into_iter().map(|m| m.iam_id).collect())),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Makes the group's members exactly `planned`'s, then waits until IBM lists the change. Create
/// and update alike: once the group is found, some members may change before a failure, so the
/// resource is kept and the next plan shows the truth; a group not found keeps nothing.
async fn set_members(ctx: &Ctx<ProviderState>, planned: Model) -> OpResult<Model> {
    let client = &ctx.provider()?.client;
    let group = planned.access_group_id.require("access_group_id")?.as_str();
    let desired = planned.desired();
    let result = Model { id: Tf::Known(group.to_string()), ..planned.clone() };
    let doing = format!("setting the members of access group {group}");
    let current = current_members(client, group).await.context(&doing).map_err(|e| e.keeping(&result))?;
    let Some(current) = current else {
        return Err(OpError::at(
            AttributePath::attr("access_group_id"),
            "Access group not found",
            format!("{doing}: the group does not exist"),
        ));
    };
    ctx.save(&result);
    let to_add: Vec<String> = desired.difference(&current).cloned().collect();
    let to_remove: Vec<String> = current.difference(&desired).cloned().collect();
    if !to_add.is_empty() {
        client.add_members(group, &to_add).await.context(&doing)?;
    }
    if !to_remove.is_empty() {
        client.remove_members(group, &to_remove).await.context(&doing)?;
    }
    // Waits for this change only: a member someone adds meanwhile must not make it wait forever.
    let (to_add, to_remove) = (&to_add, &to_remove);
    poll_until(&ctx.cancel, VISIBILITY_TIMEOUT, &format!("the members of access group {group} to show the change"), || async move {
        match current_members(client, group).await? {
            Some(now) if to_add.iter().all(|m| now.contains(m)) && !to_remove.iter().any(|m| now.contains(m)) => Ok(Poll::Ready(())),
            _ => Ok(Poll::Pending("not yet listing the change".into())),
        }
    })
    .await
    .context(&doing)?;
    Ok(result)
}

#[async_trait]
impl Resource<ProviderState> for AccessGroupMembers {
    type Model = Model;
    const TYPE_NAME: &'static str = TYPE_NAME;

    fn identity() -> IdentitySchema {
        IdentitySchema::new().attr("access_group_id", "The access group whose member list this is.")
    }

    fn schema() -> Schema {
        let members = |(name, pattern, means): (&str, &str, &str), description: &str| {
            Attribute::string_set(name).optional().check(Check::each(Check::pattern(pattern, means))).describe(description)
        };
        let [users, services, profiles] = MEMBER_ATTRIBUTES;
        Schema::new(
            0,
            Block::new("The complete static member list of one access group. Members added any other way are removed.")
                .attr(Attribute::string("id").computed().describe("The access group's ID."))
                .attr(Attribute::string("access_group_id").required().force_new().describe("The access group."))
                .attr(members(users, "Users, by IAM ID."))
                .attr(members(services, "Service IDs, by IAM ID."))
                .attr(members(profiles, "Trusted profiles, by IAM ID.")),
        )
    }

    async fn create(&self, ctx: &Ctx<ProviderState>, planned: Model, _config: Model) -> OpResult<Model> {
        set_members(ctx, planned).await
    }

    async fn read(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<Option<Model>> {
        let Some(group) = prior.group() else { return Ok(None) };
        let client = &ctx.provider()?.client;
        let members = current_members(client, group).await.context(format_args!("reading the members of access group {group}"))?;
        Ok(members.map(|members| prior.with_members(group, &members)))
    }

    async fn update(&self, ctx: &Ctx<ProviderState>, _prior: Model, planned: Model, _config: Model) -> OpResult<Model> {
        set_members(ctx, planned).await
    }

    async fn delete(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<()> {
        let Some(group) = prior.group() else { return Ok(()) };
        let members: Vec<String> = prior.desired().into_iter().collect();
        if members.is_empty() {
            return Ok(());
        }
        // A group already gone has no members left: remove_members treats that as done.
        ctx.provider()?.client.remove_members(group, &members).await.context(format_args!("removing the members of access group {group}"))
    }

    fn import_not_found(&self, id: &str) -> OpError {
        OpError::new("Access group not found", format!("no access group has the id {id:?}; import takes the group's ID (AccessGroupId-…)."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::{from_value, resource, to_value, Value};

    fn strings(ids: &[&str]) -> Tf<Vec<Tf<String>>> {
        Tf::Known(ids.iter().map(|id| Tf::Known(id.to_string())).collect())
    }

    #[test]
    fn prefixes_are_checked_per_attribute() {
        let members = resource::<ProviderState, _>(AccessGroupMembers);
        let config = Value::from_json(
            &serde_json::json!({
                "access_group_id": "AccessGroupId-1", "iam_ids": ["IBMid-1", "iam-ServiceId-2", "a@b.c"], "profile_ids": ["iam-Profile-3"]
            }),
            members.value_type(),
        )
        .expect("value");
        let d = members.validate(&config);
        assert_eq!(d.0.len(), 2, "{d:?}");
        assert!(d.0.iter().all(|x| x.path == Some(AttributePath::attr("iam_ids"))));
        assert!(d.0[0].detail.contains("service_ids"));
    }

    #[test]
    fn members_split_by_kind_and_null_kept() {
        let prior = Model { access_group_id: Tf::Known("g".into()), iam_ids: strings(&[]), ..Default::default() };
        let members: BTreeSet<String> = ["IBMid-a", "iam-Profile-b"].map(String::from).into();
        let m = prior.with_members("g", &members);
        assert_eq!(m.iam_ids, strings(&["IBMid-a"]));
        assert_eq!(m.service_ids, Tf::Null);
        assert_eq!(m.profile_ids, strings(&["iam-Profile-b"]));
    }

    #[test]
    fn state_model_round_trips() {
        let m = Model {
            id: Tf::Known("g".into()),
            access_group_id: Tf::Known("g".into()),
            iam_ids: strings(&["IBMid-a"]),
            service_ids: Tf::Null,
            profile_ids: strings(&[]),
        };
        let v = to_value(&m, &AccessGroupMembers::schema().value_type()).expect("encodes");
        assert_eq!(from_value::<Model>(&v).expect("decodes"), m);
    }
}
