//! `ibmqr_access_group_members`: the complete static member list of one access group. Exclusive:
//! members added elsewhere are removed. `ibmqr_access_group_member` is the additive alternative.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::framework::legacy::{Ctx, Resource, StateResult};
use crate::framework::{from_value, to_value, Attribute, AttributePath, Block, Diagnostics, Schema, Value};
use crate::ibmcloud::access_groups::MemberKind;
use crate::ibmcloud::{self, poll_until, Client, Poll};

use super::{found_for_import, provider_and};
use crate::configured::{api_error, provider};

pub const TYPE_NAME: &str = "ibmqr_access_group_members";
const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(120);

/// The three member attributes, the kind each holds and the prefix that kind's IDs start with.
pub const MEMBER_ATTRIBUTES: [(&str, MemberKind, &str); 3] = [
    ("iam_ids", MemberKind::User, "IBMid-"),
    ("service_ids", MemberKind::Service, "iam-ServiceId-"),
    ("profile_ids", MemberKind::Profile, "iam-Profile-"),
];

pub struct AccessGroupMembers;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
struct Model {
    id: Option<String>,
    access_group_id: String,
    iam_ids: Option<BTreeSet<String>>,
    service_ids: Option<BTreeSet<String>>,
    profile_ids: Option<BTreeSet<String>>,
}

impl Model {
    fn desired(&self) -> BTreeSet<String> {
        [&self.iam_ids, &self.service_ids, &self.profile_ids].into_iter().flatten().flatten().cloned().collect()
    }

    /// Fills the three sets from the group's members; an empty kind stays null when it was null.
    fn with_members(&self, members: &BTreeSet<String>) -> Model {
        let of = |kind: MemberKind, prior: &Option<BTreeSet<String>>| {
            let set: BTreeSet<String> = members.iter().filter(|m| MemberKind::of(m) == Some(kind)).cloned().collect();
            if set.is_empty() && prior.is_none() {
                None
            } else {
                Some(set)
            }
        };
        Model {
            id: Some(self.access_group_id.clone()),
            access_group_id: self.access_group_id.clone(),
            iam_ids: of(MemberKind::User, &self.iam_ids),
            service_ids: of(MemberKind::Service, &self.service_ids),
            profile_ids: of(MemberKind::Profile, &self.profile_ids),
        }
    }
}

fn encode(model: &Model) -> Result<Value, Diagnostics> {
    Ok(to_value(model, &AccessGroupMembers.schema().value_type())?)
}

/// Checks that every ID of a member attribute has that attribute's prefix.
pub fn check_member_ids(config: &Value, attribute: &str, prefix: &str, diags: &mut Diagnostics) {
    let Some(value) = config.get(attribute) else { return };
    let ids: Vec<&str> = match value {
        Value::String(s) => vec![s.as_str()],
        other => other.elements().iter().filter_map(Value::as_str).collect(),
    };
    for id in ids {
        if !(id.starts_with(prefix) && id.len() > prefix.len()) {
            let hint = match MEMBER_ATTRIBUTES.iter().find(|(_, _, p)| id.starts_with(p) && id.len() > p.len()) {
                Some((other, _, _)) if *other != attribute => format!(" It looks like an ID for `{other}`."),
                _ if id.contains('@') => " Use the person's IAM ID (`IBMid-…`), not the email; `ibmqr_user_invite` exports it.".to_string(),
                _ => String::new(),
            };
            diags.add_attr_error(
                AttributePath::attr(attribute),
                "Invalid member ID",
                format!("{id:?} is not a valid ID here: {attribute} takes IDs starting with {prefix:?}.{hint}"),
            );
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

/// Adds the missing members and removes the others, then waits until IBM lists exactly `desired`.
async fn reconcile(ctx: &Ctx, group_id: &str, desired: &BTreeSet<String>) -> Result<(), Diagnostics> {
    let client = &provider(ctx)?.client;
    let doing = format!("setting the members of access group {group_id}");
    let current = current_members(client, group_id).await.map_err(|e| api_error(&doing, &e))?.ok_or_else(|| {
        Diagnostics::attr_error(
            AttributePath::attr("access_group_id"),
            "Access group not found",
            format!("{doing}: the group does not exist"),
        )
    })?;
    let to_add: Vec<String> = desired.difference(&current).cloned().collect();
    let to_remove: Vec<String> = current.difference(desired).cloned().collect();
    if !to_add.is_empty() {
        client.add_members(group_id, &to_add).await.map_err(|e| api_error(&doing, &e))?;
    }
    if !to_remove.is_empty() {
        client.remove_members(group_id, &to_remove).await.map_err(|e| api_error(&doing, &e))?;
    }
    // Waits for this change only: a member someone adds meanwhile must not make it wait forever.
    let (to_add, to_remove) = (&to_add, &to_remove);
    poll_until(&ctx.cancel, VISIBILITY_TIMEOUT, &format!("the members of access group {group_id} to show the change"), || async move {
        match current_members(client, group_id).await? {
            Some(now) if to_add.iter().all(|m| now.contains(m)) && !to_remove.iter().any(|m| now.contains(m)) => Ok(Poll::Ready(())),
            _ => Ok(Poll::Pending("not yet listing the change".into())),
        }
    })
    .await
    .map_err(|e| api_error(&doing, &e))
}

#[async_trait]
impl Resource for AccessGroupMembers {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new("The complete static member list of one access group. Members added any other way are removed.")
                .attr(Attribute::string("id").computed().describe("The access group's ID."))
                .attr(
                    Attribute::string("access_group_id")
                        .required()
                        .force_new()
                        .describe("The access group. Changing it replaces the resource."),
                )
                .attr(Attribute::string_set("iam_ids").optional().describe("Users, by IAM ID (`IBMid-…`)."))
                .attr(Attribute::string_set("service_ids").optional().describe("Service IDs, by IAM ID (`iam-ServiceId-…`)."))
                .attr(Attribute::string_set("profile_ids").optional().describe("Trusted profiles, by IAM ID (`iam-Profile-…`).")),
        )
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        for (attribute, _, prefix) in MEMBER_ATTRIBUTES {
            check_member_ids(config, attribute, prefix, &mut diags);
        }
        diags
    }

    async fn create(&self, ctx: &Ctx, planned: &Value, _config: &Value) -> StateResult {
        let model = match from_value::<Model>(planned) {
            Ok(m) => m,
            Err(e) => return (None, e.into()),
        };
        let desired = model.desired();
        let result = Model { id: Some(model.access_group_id.clone()), ..model.clone() };
        match reconcile(ctx, &model.access_group_id, &desired).await {
            Ok(()) => (encode(&result).ok(), Diagnostics::new()),
            // Some members may have changed already: keep the resource so the next plan shows the truth.
            Err(d) if d.0.iter().any(|x| x.summary == "Access group not found") => (None, d),
            Err(d) => (encode(&result).ok(), d),
        }
    }

    async fn read(&self, ctx: &Ctx, state_value: &Value) -> Result<Option<Value>, Diagnostics> {
        let client = &provider(ctx)?.client;
        let prior: Model = from_value(state_value)?;
        match current_members(client, &prior.access_group_id).await {
            Ok(Some(members)) => Ok(Some(encode(&prior.with_members(&members))?)),
            Ok(None) => Ok(None),
            Err(e) => Err(api_error(&format!("reading the members of access group {}", prior.access_group_id), &e)),
        }
    }

    async fn update(&self, ctx: &Ctx, _prior: &Value, planned: &Value, config: &Value) -> StateResult {
        self.create(ctx, planned, config).await
    }

    async fn delete(&self, ctx: &Ctx, prior_value: &Value) -> Diagnostics {
        let (state, prior) = match provider_and::<Model>(ctx, prior_value) {
            Ok(opened) => opened,
            Err(d) => return d,
        };
        let members: Vec<String> = prior.desired().into_iter().collect();
        if members.is_empty() {
            return Diagnostics::new();
        }
        // A group already gone has no members left: remove_members treats that as done.
        match state.client.remove_members(&prior.access_group_id, &members).await {
            Ok(()) => Diagnostics::new(),
            Err(e) => api_error(&format!("removing the members of access group {}", prior.access_group_id), &e),
        }
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Value, Diagnostics> {
        let client = &provider(ctx)?.client;
        found_for_import(client.get_access_group(id).await, &format!("importing the members of access group {id}"), || {
            Diagnostics::error(
                "Access group not found",
                format!("no access group has the id {id:?}; import takes the group's ID (AccessGroupId-…)."),
            )
        })?;
        encode(&Model { id: Some(id.to_string()), access_group_id: id.to_string(), ..Default::default() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: serde_json::Value) -> Value {
        Value::from_json(&json, &AccessGroupMembers.schema().value_type()).expect("value")
    }

    #[test]
    fn prefixes_are_checked_per_attribute() {
        let d = AccessGroupMembers.validate(&config(serde_json::json!({
            "access_group_id": "AccessGroupId-1", "iam_ids": ["IBMid-1", "iam-ServiceId-2", "a@b.c"], "profile_ids": ["iam-Profile-3"]
        })));
        assert_eq!(d.0.len(), 2, "{d:?}");
        assert!(d.0.iter().all(|x| x.path == Some(AttributePath::attr("iam_ids"))));
        assert!(d.0[0].detail.contains("service_ids"));
    }

    #[test]
    fn members_split_by_kind_and_null_kept() {
        let prior = Model { access_group_id: "g".into(), iam_ids: Some(BTreeSet::new()), ..Default::default() };
        let members: BTreeSet<String> = ["IBMid-a", "iam-Profile-b"].map(String::from).into();
        let m = prior.with_members(&members);
        assert_eq!(m.iam_ids.map(|s| s.len()), Some(1));
        assert_eq!(m.service_ids, None);
        assert_eq!(m.profile_ids.map(|s| s.len()), Some(1));
    }
}
