//! `ibmqr_user_invite`: one person invited into the account (User Management), with the access
//! groups they belong to. Idempotent: a person already `PENDING` or `ACTIVE` in the account is
//! adopted instead; destroying an adopted person removes only the memberships this resource added.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::framework::legacy::{Ctx, Plan, Resource, StateResult};
use crate::framework::{from_value, to_value, Attribute, AttributePath, Block, Diagnostics, Schema, Value};
use crate::ibmcloud::user_management::{same_email, UserProfile};
use crate::ibmcloud::{self, poll_until, Client, Poll};

use super::{provider_and, provider_and_both};
use crate::configured::{api_error, provider};

pub const TYPE_NAME: &str = "ibmqr_user_invite";
/// How long an invite may stay `PROCESSING` before the create gives up (TF waits 5 minutes too).
const INVITE_TIMEOUT: Duration = Duration::from_secs(300);
const COMPUTED: [&str; 5] = ["id", "iam_id", "state", "adopted", "preexisting_access_group_ids"];

pub struct UserInvite;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
struct Model {
    id: Option<String>,
    email: String,
    access_group_ids: Option<BTreeSet<String>>,
    iam_id: Option<String>,
    state: Option<String>,
    adopted: Option<bool>,
    preexisting_access_group_ids: Option<BTreeSet<String>>,
}

impl Model {
    fn groups(&self) -> BTreeSet<String> {
        self.access_group_ids.clone().unwrap_or_default()
    }
}

fn encode(model: &Model) -> Result<Value, Diagnostics> {
    Ok(to_value(model, &UserInvite.schema().value_type())?)
}

/// A shape check only: IBM decides what it accepts.
fn plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else { return false };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// IDs of the groups the person is a static member of.
async fn groups_of(client: &Client, iam_id: &str) -> Result<BTreeSet<String>, ibmcloud::Error> {
    Ok(client.access_groups_of_member(iam_id).await?.into_iter().map(|g| g.id).collect())
}

async fn add_to_groups(client: &Client, iam_id: &str, groups: impl IntoIterator<Item = &String>) -> Result<(), ibmcloud::Error> {
    for group in groups {
        client.add_members(group, &[iam_id.to_string()]).await?;
    }
    Ok(())
}

fn failed_invite(email: &str, user: &UserProfile) -> Diagnostics {
    let reason = user.substate.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| "IBM gave no reason".into());
    Diagnostics::attr_error(
        AttributePath::attr("email"),
        "Invitation failed",
        format!(
            "IBM Cloud could not invite {email}: state {} ({reason}). Check the address and the account's allowed invitation domains.",
            user.state
        ),
    )
}

#[async_trait]
impl Resource for UserInvite {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new("One person invited into the account (IBMid), and the access groups they belong to.")
                .attr(Attribute::string("id").computed().describe("The person's IAM ID."))
                .attr(Attribute::string("email").required().describe(
                    "The person's email. Another address replaces the resource (a new invitation); a change of letter case alone is an in-place update that calls no API.",
                ))
                .attr(Attribute::string_set("access_group_ids").optional().describe("Access groups the person is a member of; changes happen in place."))
                .attr(Attribute::string("iam_id").computed().describe("The person's IAM ID (`IBMid-…`), for `ibmqr_access_group_members`."))
                .attr(Attribute::string("state").computed().describe("`PENDING` until the invitation is accepted, then `ACTIVE`."))
                .attr(Attribute::bool("adopted").computed().describe("True when the person was already in the account and was adopted rather than invited."))
                .attr(Attribute::string_set("preexisting_access_group_ids").computed().describe(
                    "For an adopted person: the groups of `access_group_ids` they already belonged to, which destroy leaves alone.",
                )),
        )
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        if let Some(Value::String(email)) = config.get("email") {
            if !plausible_email(email) {
                diags.add_attr_error(
                    AttributePath::attr("email"),
                    "Invalid email",
                    format!("{email:?} is not an email address such as \"ada@example.com\"."),
                );
            }
        }
        for id in config.get("access_group_ids").map(Value::elements).unwrap_or_default().iter().filter_map(Value::as_str) {
            if id.trim().is_empty() {
                diags.add_attr_error(
                    AttributePath::attr("access_group_ids"),
                    "Empty access group ID",
                    "access_group_ids holds an empty ID; use the groups' IDs (AccessGroupId-…).",
                );
            }
        }
        diags
    }

    /// Another address replaces the person; the same address in other letter case does not.
    async fn modify_plan(&self, _ctx: &Ctx, plan: &mut Plan) -> Diagnostics {
        let Some(prior) = &plan.prior else { return Diagnostics::new() };
        let (Some(Value::String(before)), Some(Value::String(after))) = (prior.get("email"), plan.planned.get("email")) else {
            return Diagnostics::new();
        };
        if !same_email(before, after) {
            plan.requires_replace.push(AttributePath::attr("email"));
            for attr in COMPUTED {
                plan.planned.set(attr, Value::Unknown);
            }
        }
        Diagnostics::new()
    }

    async fn create(&self, ctx: &Ctx, planned: &Value, _config: &Value) -> StateResult {
        let (state, model) = match provider_and::<Model>(ctx, planned) {
            Ok(opened) => opened,
            Err(d) => return (None, d),
        };
        let client = &state.client;
        let email = model.email.clone();
        let wanted = model.groups();
        let doing = format!("inviting {email}");
        let existing = match client.find_user_by_email(&email).await {
            Ok(u) => u,
            Err(e) => return (None, api_error(&doing, &e)),
        };

        if let Some(user) = existing {
            return match user.state.as_str() {
                "PENDING" | "ACTIVE" | "PROCESSING" => adopt(ctx, client, model, user).await,
                "ERROR_WHILE_PROCESSING" => (None, failed_invite(&email, &user)),
                other => (
                    None,
                    Diagnostics::attr_error(
                        AttributePath::attr("email"),
                        "Person cannot be adopted",
                        format!("{email} is already in the account in state {other}; only PENDING or ACTIVE people are adopted. Resolve it in the console first."),
                    ),
                ),
            };
        }

        let groups: Vec<String> = wanted.iter().cloned().collect();
        if let Err(e) = client.invite_user(&email, &groups).await {
            return (None, api_error(&doing, &e));
        }
        let email_ref = &email;
        let settled = poll_until(&ctx.cancel, INVITE_TIMEOUT, &format!("the invitation of {email} to be processed"), || async move {
            match client.find_user_by_email(email_ref).await? {
                Some(u) if u.state == "PROCESSING" => Ok(Poll::Pending("PROCESSING".into())),
                Some(u) => Ok(Poll::Ready(Some(u))),
                None => Ok(Poll::Pending("not yet listed".into())),
            }
        })
        .await;
        // The invitation went out: whatever happens while waiting, the state keeps the person, so
        // that destroy removes them (found by email when the iam_id is not known yet).
        let sent = Model { adopted: Some(false), preexisting_access_group_ids: Some(BTreeSet::new()), ..model.clone() };
        let user = match settled {
            Ok(Some(u)) => u,
            Ok(None) => {
                return (
                    encode(&sent).ok(),
                    Diagnostics::error("Invitation not found", format!("{doing}: the invited person never showed up")),
                )
            }
            Err(e) => return (encode(&sent).ok(), api_error(&doing, &e)),
        };
        let result = Model {
            id: Some(user.iam_id.clone()),
            iam_id: Some(user.iam_id.clone()),
            state: Some(user.state.clone()),
            adopted: Some(false),
            preexisting_access_group_ids: Some(BTreeSet::new()),
            ..model
        };
        // The person is in the account now: every answer keeps them in state, so destroy removes them.
        if user.state == "ERROR_WHILE_PROCESSING" {
            return (encode(&result).ok(), failed_invite(&email, &user));
        }
        // The invite names the groups; make sure each membership is there.
        let diags = match groups_of(client, &user.iam_id).await {
            Ok(now) => match add_to_groups(client, &user.iam_id, wanted.difference(&now)).await {
                Ok(()) => Diagnostics::new(),
                Err(e) => api_error(&format!("adding {email} to access groups"), &e),
            },
            Err(e) => api_error(&format!("listing the access groups of {email}"), &e),
        };
        // On a failed membership step the planned groups stay in state: the next refresh keeps only
        // those the person is really in, so the plan shows the missing ones again.
        (encode(&result).ok(), diags)
    }

    async fn read(&self, ctx: &Ctx, state_value: &Value) -> Result<Option<Value>, Diagnostics> {
        let client = &provider(ctx)?.client;
        let prior: Model = from_value(state_value)?;
        let doing = format!("reading user {}", prior.email);
        let user = match prior.iam_id.clone() {
            Some(iam_id) => client.get_user(&iam_id).await,
            // An invitation interrupted before IBM had listed the person.
            None => client.find_user_by_email(&prior.email).await,
        };
        let Some(user) = user.map_err(|e| api_error(&doing, &e))? else { return Ok(None) };
        let iam_id = user.iam_id.clone();
        let member_of = groups_of(client, &iam_id).await.map_err(|e| api_error(&doing, &e))?;
        // Only the groups this resource manages are compared; others belong to someone else.
        let kept: BTreeSet<String> = prior.groups().intersection(&member_of).cloned().collect();
        let fresh = Model {
            id: Some(iam_id.clone()),
            email: if same_email(&prior.email, &user.email) { prior.email.clone() } else { user.email.clone() },
            access_group_ids: if kept.is_empty() && prior.access_group_ids.is_none() { None } else { Some(kept) },
            iam_id: Some(iam_id),
            state: Some(user.state.clone()),
            adopted: Some(prior.adopted.unwrap_or(false)),
            preexisting_access_group_ids: Some(prior.preexisting_access_group_ids.clone().unwrap_or_default()),
        };
        Ok(Some(encode(&fresh)?))
    }

    async fn update(&self, ctx: &Ctx, prior_value: &Value, planned: &Value, _config: &Value) -> StateResult {
        let (state, prior, model) = match provider_and_both::<Model>(ctx, prior_value, planned) {
            Ok(opened) => opened,
            Err(d) => return (None, d),
        };
        // A change of letter case in `email` needs no API call: IBM compares emails ignoring case.
        let Some(iam_id) = prior.iam_id.clone() else {
            return (
                None,
                Diagnostics::error("User invite has no iam_id", "the state of this invite has no iam_id; import it again by email"),
            );
        };
        let client = &state.client;
        let (before, after) = (prior.groups(), model.groups());
        let preexisting = prior.preexisting_access_group_ids.clone().unwrap_or_default();
        let mut result = Model {
            id: prior.id.clone(),
            iam_id: prior.iam_id.clone(),
            state: prior.state.clone(),
            adopted: prior.adopted,
            preexisting_access_group_ids: prior.preexisting_access_group_ids.clone(),
            ..model.clone()
        };
        let mut current = before.clone();
        for group in after.difference(&before) {
            if let Err(e) = client.add_members(group, std::slice::from_ref(&iam_id)).await {
                result.access_group_ids = Some(current);
                return (encode(&result).ok(), api_error(&format!("adding {} to access group {group}", model.email), &e));
            }
            current.insert(group.clone());
        }
        for group in before.difference(&after) {
            // Memberships an adopted person had before are not this resource's to take away.
            if !preexisting.contains(group) {
                if let Err(e) = client.remove_member(group, &iam_id).await {
                    result.access_group_ids = Some(current);
                    return (encode(&result).ok(), api_error(&format!("removing {} from access group {group}", model.email), &e));
                }
            }
            current.remove(group);
        }
        (encode(&result).ok(), Diagnostics::new())
    }

    async fn delete(&self, ctx: &Ctx, prior_value: &Value) -> Diagnostics {
        let (state, prior) = match provider_and::<Model>(ctx, prior_value) {
            Ok(opened) => opened,
            Err(d) => return d,
        };
        let client = &state.client;
        let iam_id = match prior.iam_id.clone() {
            Some(iam_id) => iam_id,
            // An invitation interrupted before IBM had listed the person: find them by email.
            None => match client.find_user_by_email(&prior.email).await {
                Ok(Some(user)) => user.iam_id,
                Ok(None) => return Diagnostics::new(),
                Err(e) => return api_error(&format!("looking up {} to remove them", prior.email), &e),
            },
        };
        if prior.adopted == Some(true) {
            let preexisting = prior.preexisting_access_group_ids.clone().unwrap_or_default();
            for group in prior.groups().difference(&preexisting) {
                if let Err(e) = client.remove_member(group, &iam_id).await {
                    return api_error(&format!("removing {} from access group {group}", prior.email), &e);
                }
            }
            return Diagnostics::new();
        }
        // Pending invitations are removed the same way, which cancels them.
        match client.remove_user(&iam_id).await {
            Ok(()) => Diagnostics::new(),
            Err(e) => api_error(&format!("removing {} from the account", prior.email), &e),
        }
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Value, Diagnostics> {
        let client = &provider(ctx)?.client;
        let doing = format!("importing user {id}");
        let Some(user) = client.find_user_by_email(id).await.map_err(|e| api_error(&doing, &e))? else {
            return Err(Diagnostics::error(
                "User not found",
                format!("nobody with the email {id:?} is in the account. Import takes the person's email."),
            ));
        };
        let groups = groups_of(client, &user.iam_id).await.map_err(|e| api_error(&doing, &e))?;
        encode(&Model {
            id: Some(user.iam_id.clone()),
            email: user.email.clone(),
            access_group_ids: if groups.is_empty() { None } else { Some(groups) },
            iam_id: Some(user.iam_id.clone()),
            state: Some(user.state.clone()),
            adopted: Some(false),
            preexisting_access_group_ids: Some(BTreeSet::new()),
        })
    }
}

/// Takes over a person already in the account: adds the missing memberships and records which
/// ones were there before, so that destroy leaves those alone.
async fn adopt(ctx: &Ctx, client: &Client, model: Model, user: UserProfile) -> StateResult {
    let email = model.email.clone();
    let iam_id = user.iam_id.clone();
    let wanted = model.groups();
    let member_of = match groups_of(client, &iam_id).await {
        Ok(g) => g,
        Err(e) => return (None, api_error(&format!("listing the access groups of {email}"), &e)),
    };
    let preexisting: BTreeSet<String> = wanted.intersection(&member_of).cloned().collect();
    let mut result = Model {
        id: Some(iam_id.clone()),
        iam_id: Some(iam_id.clone()),
        state: Some(user.state.clone()),
        adopted: Some(true),
        preexisting_access_group_ids: Some(preexisting),
        ..model
    };
    if let Err(e) = add_to_groups(client, &iam_id, wanted.difference(&member_of)).await {
        return (encode(&result).ok(), api_error(&format!("adding {email} to access groups"), &e));
    }
    // A person still PROCESSING settles soon; the state is refreshed at the next read anyway.
    if user.state == "PROCESSING" {
        let email_ref = &email;
        if let Ok(Some(u)) = poll_until(&ctx.cancel, INVITE_TIMEOUT, &format!("{email} to be processed"), || async move {
            match client.find_user_by_email(email_ref).await? {
                Some(u) if u.state == "PROCESSING" => Ok(Poll::Pending("PROCESSING".into())),
                other => Ok(Poll::Ready(other)),
            }
        })
        .await
        {
            result.state = Some(u.state);
        }
    }
    (encode(&result).ok(), Diagnostics::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_shape() {
        assert!(plausible_email("ada@example.com"));
        assert!(plausible_email("Ada.Lovelace+qr@Example.co.uk"));
        for bad in ["ada", "ada@", "@example.com", "ada@example", "ada @example.com", "a@b@c.com"] {
            assert!(!plausible_email(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn only_another_address_forces_replacement() {
        let ty = UserInvite.schema().value_type();
        let prior = Value::from_json(
            &serde_json::json!({"id": "IBMid-1", "email": "ada@example.com", "iam_id": "IBMid-1", "state": "PENDING", "adopted": false, "preexisting_access_group_ids": []}),
            &ty,
        )
        .expect("value");
        let ctx = Ctx::new(None, tokio_util::sync::CancellationToken::new());
        for (email, replace) in [("Ada@Example.COM", false), ("bob@example.com", true)] {
            let mut planned = prior.clone();
            planned.set("email", Value::string(email));
            let mut plan = Plan { prior: Some(prior.clone()), config: planned.clone(), planned, requires_replace: vec![] };
            UserInvite.modify_plan(&ctx, &mut plan).await;
            assert_eq!(!plan.requires_replace.is_empty(), replace, "{email}");
            assert_eq!(plan.planned.get("iam_id").map(Value::is_unknown), Some(replace));
        }
    }
}
