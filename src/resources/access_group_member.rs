//! `ibmqr_access_group_member`: one principal in one access group, additive (other members are
//! left alone). ID `GROUP_ID/IAM_ID`.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::configured::ProviderState;
use crate::framework::{
    Attribute, Block, Check, Context, Ctx, IdentitySchema, ListRequest, ListResource, Listed, OpError, OpResult, Resource, Schema, Tf,
};
use crate::ibmcloud::access_groups::MemberKind;
use crate::ibmcloud::{self, poll_until, Client, Poll};

pub const TYPE_NAME: &str = "ibmqr_access_group_member";
const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(120);

pub struct AccessGroupMember;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Model {
    id: Tf<String>,
    access_group_id: Tf<String>,
    iam_id: Tf<String>,
}

impl Model {
    /// The group and the member: from the attributes, or from the ID alone (an import stub).
    fn ids(&self) -> Option<(String, String)> {
        if let (Tf::Known(group), Tf::Known(iam_id)) = (&self.access_group_id, &self.iam_id) {
            return Some((group.clone(), iam_id.clone()));
        }
        self.id.as_deref().and_then(split_id).map(|(group, iam_id)| (group.to_string(), iam_id.to_string()))
    }
}

fn split_id(id: &str) -> Option<(&str, &str)> {
    id.split_once('/').filter(|(group, iam_id)| !group.is_empty() && MemberKind::of(iam_id).is_some())
}

/// Whether `iam_id` is a static member; `None` if the group is gone.
async fn is_static_member(client: &Client, group_id: &str, iam_id: &str) -> Result<Option<bool>, ibmcloud::Error> {
    match client.list_static_members(group_id).await {
        Ok(list) => Ok(Some(list.iter().any(|m| m.iam_id == iam_id))),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

#[async_trait]
impl Resource<ProviderState> for AccessGroupMember {
    type Model = Model;
    const TYPE_NAME: &'static str = TYPE_NAME;

    fn identity() -> IdentitySchema {
        IdentitySchema::new().attr("access_group_id", "The access group.").attr("iam_id", "")
    }

    fn schema() -> Schema {
        Schema::new(
            0,
            Block::new("One user, service ID or trusted profile in one access group. Other members of the group are left alone.")
                .attr(Attribute::string("id").computed().describe("`GROUP_ID/IAM_ID`."))
                .attr(Attribute::string("access_group_id").required().force_new().describe("The access group."))
                .attr(
                    Attribute::string("iam_id")
                        .required()
                        .force_new()
                        .check(Check::pattern(
                            r"(?s)^(IBMid-|iam-ServiceId-|iam-Profile-).+$",
                            "a user's (`IBMid-…`), service ID's (`iam-ServiceId-…`) or trusted profile's (`iam-Profile-…`) IAM ID",
                        ))
                        .describe("The member's IAM ID; the type of member is read from its prefix."),
                ),
        )
    }

    async fn create(&self, ctx: &Ctx<ProviderState>, planned: Model, _config: Model) -> OpResult<Model> {
        let client = &ctx.provider()?.client;
        let group = planned.access_group_id.require("access_group_id")?.as_str();
        let iam_id = planned.iam_id.require("iam_id")?.as_str();
        let doing = format!("adding {iam_id} to access group {group}");
        client.add_members(group, &[iam_id.to_string()]).await.context(&doing)?;
        let member = Model { id: Tf::Known(format!("{group}/{iam_id}")), ..planned.clone() };
        ctx.save(&member);
        poll_until(&ctx.cancel, VISIBILITY_TIMEOUT, &format!("{iam_id} to be listed in access group {group}"), || async move {
            Ok(if is_static_member(client, group, iam_id).await? == Some(true) {
                Poll::Ready(())
            } else {
                Poll::Pending("not yet listed".into())
            })
        })
        .await
        .context(&doing)?;
        Ok(member)
    }

    async fn read(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<Option<Model>> {
        let Some((group, iam_id)) = prior.ids() else { return Ok(None) };
        let client = &ctx.provider()?.client;
        let listed = is_static_member(client, &group, &iam_id).await.context(format_args!("reading access group {group} members"))?;
        // Not listed, or the group is gone: the next plan adds the member again.
        if listed != Some(true) {
            return Ok(None);
        }
        Ok(Some(Model { id: Tf::Known(format!("{group}/{iam_id}")), access_group_id: Tf::Known(group), iam_id: Tf::Known(iam_id) }))
    }

    async fn update(&self, _ctx: &Ctx<ProviderState>, _prior: Model, planned: Model, _config: Model) -> OpResult<Model> {
        // Every argument forces replacement: nothing to change in place.
        Ok(planned)
    }

    async fn delete(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<()> {
        let Some((group, iam_id)) = prior.ids() else { return Ok(()) };
        ctx.provider()?.client.remove_member(&group, &iam_id).await.context(format_args!("removing {iam_id} from access group {group}"))
    }

    fn import_not_found(&self, id: &str) -> OpError {
        let Some((group, iam_id)) = split_id(id) else {
            return OpError::new("Invalid import ID", format!("{id:?} is not GROUP_ID/IAM_ID, e.g. AccessGroupId-…/IBMid-…."));
        };
        OpError::new(
            "Membership not found",
            format!("{iam_id} is not a static member of access group {group} (or the group does not exist)."),
        )
    }
}

/// The filters of `list "ibmqr_access_group_member"`.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ListFilter {
    access_group_id: Tf<String>,
}

#[async_trait]
impl ListResource<ProviderState> for AccessGroupMember {
    type Filter = ListFilter;

    fn list_schema() -> Schema {
        super::group_contents_list_schema(
            "The service IDs and trusted profiles that are static members of access groups. People are listed as `ibmqr_user_invite`, with their groups in `access_group_ids`, so that each membership has one owner.",
        )
    }

    async fn list(&self, ctx: &Ctx<ProviderState>, request: ListRequest<ListFilter>) -> OpResult<Vec<Listed<Model>>> {
        let client = &ctx.provider()?.client;
        let mut listed = Vec::new();
        for group in super::groups_to_list(ctx, request.filter.access_group_id.into_option()).await? {
            let members =
                client.list_static_members(&group.id).await.context(format_args!("listing the members of access group {}", group.name))?;
            let not_people =
                members.into_iter().filter(|m| matches!(MemberKind::of(&m.iam_id), Some(MemberKind::Service | MemberKind::Profile)));
            listed.extend(not_people.map(|m| Listed {
                display_name: format!("{}: {}", group.name, m.iam_id),
                state: Model {
                    id: Tf::Known(format!("{}/{}", group.id, m.iam_id)),
                    access_group_id: Tf::Known(group.id.clone()),
                    iam_id: Tf::Known(m.iam_id),
                },
            }));
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
    use crate::framework::{resource, AttributePath, Value};

    #[test]
    fn iam_id_prefix_is_checked() {
        let member = resource::<ProviderState, _>(AccessGroupMember);
        let config = |json| Value::from_json(&json, member.value_type()).expect("value");
        let d = member.validate(&config(serde_json::json!({"access_group_id": "g", "iam_id": "alice@example.com"})));
        assert_eq!(d.0.first().and_then(|x| x.path.clone()), Some(AttributePath::attr("iam_id")));
        let d = member.validate(&config(serde_json::json!({"access_group_id": "g", "iam_id": "IBMid-"})));
        assert!(d.has_errors(), "a prefix alone is no IAM ID");
        assert!(!member.validate(&config(serde_json::json!({"access_group_id": "g", "iam_id": "iam-ServiceId-1"}))).has_errors());
    }

    #[test]
    fn an_import_stub_names_the_group_and_member() {
        let stub = Model { id: Tf::Known("AccessGroupId-1/IBMid-a".into()), access_group_id: Tf::Null, iam_id: Tf::Null };
        assert_eq!(stub.ids(), Some(("AccessGroupId-1".to_string(), "IBMid-a".to_string())));
        let bad = Model { id: Tf::Known("no-slash".into()), ..stub };
        assert_eq!(bad.ids(), None);
    }
}
