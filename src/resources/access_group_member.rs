//! `ibmqr_access_group_member`: one principal in one access group, additive (other members are
//! left alone). ID `GROUP_ID/IAM_ID`.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::framework::legacy::{Ctx, Resource, StateResult};
use crate::framework::{from_value, to_value, Attribute, AttributePath, Block, Diagnostics, Schema, Value};
use crate::ibmcloud::access_groups::MemberKind;
use crate::ibmcloud::{self, poll_until, Client, Poll};

use super::provider_and;
use crate::configured::{api_error, provider};

pub const TYPE_NAME: &str = "ibmqr_access_group_member";
const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(120);

pub struct AccessGroupMember;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Model {
    id: Option<String>,
    access_group_id: String,
    iam_id: String,
}

fn encode(model: &Model) -> Result<Value, Diagnostics> {
    Ok(to_value(model, &AccessGroupMember.schema().value_type())?)
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
impl Resource for AccessGroupMember {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new("One user, service ID or trusted profile in one access group. Other members of the group are left alone.")
                .attr(Attribute::string("id").computed().describe("`GROUP_ID/IAM_ID`."))
                .attr(Attribute::string("access_group_id").required().force_new().describe("The access group. Changing it replaces the membership."))
                .attr(Attribute::string("iam_id").required().force_new().describe(
                    "The member's IAM ID: `IBMid-…` (user), `iam-ServiceId-…` or `iam-Profile-…`; the type is read from the prefix. Changing it replaces the membership.",
                )),
        )
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        if let Some(Value::String(iam_id)) = config.get("iam_id") {
            if MemberKind::of(iam_id).is_none() {
                diags.add_attr_error(
                    AttributePath::attr("iam_id"),
                    "Invalid member ID",
                    format!("{iam_id:?} is not an IAM ID: it must start with \"IBMid-\" (user), \"iam-ServiceId-\" or \"iam-Profile-\"."),
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
        let (group, iam_id) = (model.access_group_id.as_str(), model.iam_id.as_str());
        let doing = format!("adding {iam_id} to access group {group}");
        if let Err(e) = client.add_members(group, &[iam_id.to_string()]).await {
            return (None, api_error(&doing, &e));
        }
        let result = Model { id: Some(format!("{group}/{iam_id}")), ..model.clone() };
        let waited =
            poll_until(&ctx.cancel, VISIBILITY_TIMEOUT, &format!("{iam_id} to be listed in access group {group}"), || async move {
                Ok(if is_static_member(client, group, iam_id).await? == Some(true) {
                    Poll::Ready(())
                } else {
                    Poll::Pending("not yet listed".into())
                })
            })
            .await;
        let diags = match waited {
            Ok(()) => Diagnostics::new(),
            Err(e) => api_error(&doing, &e),
        };
        (encode(&result).ok(), diags)
    }

    async fn read(&self, ctx: &Ctx, state_value: &Value) -> Result<Option<Value>, Diagnostics> {
        let client = &provider(ctx)?.client;
        let prior: Model = from_value(state_value)?;
        match is_static_member(client, &prior.access_group_id, &prior.iam_id).await {
            Ok(Some(true)) => Ok(Some(encode(&Model { id: Some(format!("{}/{}", prior.access_group_id, prior.iam_id)), ..prior })?)),
            Ok(_) => Ok(None),
            Err(e) => Err(api_error(&format!("reading access group {} members", prior.access_group_id), &e)),
        }
    }

    async fn update(&self, _ctx: &Ctx, _prior: &Value, planned: &Value, _config: &Value) -> StateResult {
        // Every argument forces replacement: nothing to change in place.
        (Some(planned.clone()), Diagnostics::new())
    }

    async fn delete(&self, ctx: &Ctx, prior_value: &Value) -> Diagnostics {
        let (state, prior) = match provider_and::<Model>(ctx, prior_value) {
            Ok(opened) => opened,
            Err(d) => return d,
        };
        match state.client.remove_member(&prior.access_group_id, &prior.iam_id).await {
            Ok(()) => Diagnostics::new(),
            Err(e) => api_error(&format!("removing {} from access group {}", prior.iam_id, prior.access_group_id), &e),
        }
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Value, Diagnostics> {
        let Some((group, iam_id)) = id.split_once('/').filter(|(g, m)| !g.is_empty() && MemberKind::of(m).is_some()) else {
            return Err(Diagnostics::error("Invalid import ID", format!("{id:?} is not GROUP_ID/IAM_ID, e.g. AccessGroupId-…/IBMid-….")));
        };
        let client = &provider(ctx)?.client;
        match is_static_member(client, group, iam_id).await {
            Ok(Some(true)) => encode(&Model { id: Some(id.to_string()), access_group_id: group.to_string(), iam_id: iam_id.to_string() }),
            Ok(_) => Err(Diagnostics::error(
                "Membership not found",
                format!("{iam_id} is not a static member of access group {group} (or the group does not exist)."),
            )),
            Err(e) => Err(api_error(&format!("importing {id}"), &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_id_prefix_is_checked() {
        let ty = AccessGroupMember.schema().value_type();
        let bad = Value::from_json(&serde_json::json!({"access_group_id": "g", "iam_id": "alice@example.com"}), &ty).expect("value");
        let d = AccessGroupMember.validate(&bad);
        assert_eq!(d.0.first().and_then(|x| x.path.clone()), Some(AttributePath::attr("iam_id")));
        let good = Value::from_json(&serde_json::json!({"access_group_id": "g", "iam_id": "iam-ServiceId-1"}), &ty).expect("value");
        assert!(!AccessGroupMember.validate(&good).has_errors());
    }
}
