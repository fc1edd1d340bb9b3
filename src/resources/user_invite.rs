//! `ibmqr_user_invite`: one person invited into the account (User Management), with the access
//! groups they belong to. Idempotent: a person already `PENDING` or `ACTIVE` in the account is
//! adopted instead; destroying an adopted person removes only the memberships this resource added.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::configured::ProviderState;
use crate::framework::{
    Attribute, AttributePath, Block, Check, Context, Ctx, IdentitySchema, ListRequest, ListResource, Listed, OpError, OpResult, Plan,
    Resource, Schema, Tf,
};
use crate::ibmcloud::user_management::{same_email, UserProfile};
use crate::ibmcloud::{self, poll_until, Client, Poll};

use crate::plan_checks::WHITESPACE_CLASS;

pub const TYPE_NAME: &str = "ibmqr_user_invite";
/// How long an invite may stay `PROCESSING` before the create gives up (TF waits 5 minutes too).
const INVITE_TIMEOUT: Duration = Duration::from_secs(300);

pub struct UserInvite;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Model {
    id: Tf<String>,
    email: Tf<String>,
    /// A set; a vector here so that single unknown elements survive the plan.
    access_group_ids: Tf<Vec<Tf<String>>>,
    iam_id: Tf<String>,
    state: Tf<String>,
    adopted: Tf<bool>,
    preexisting_access_group_ids: Tf<BTreeSet<String>>,
}

impl Model {
    /// The known access group IDs.
    fn groups(&self) -> BTreeSet<String> {
        self.access_group_ids.known().into_iter().flatten().filter_map(Tf::known).cloned().collect()
    }

    fn preexisting(&self) -> BTreeSet<String> {
        self.preexisting_access_group_ids.known().cloned().unwrap_or_default()
    }

    fn email(&self) -> OpResult<&String> {
        self.email.require("email")
    }

    /// A person imported or listed: managed from now on as if this resource had invited them
    /// (destroy removes them), with the static memberships they have.
    fn taken_over(user: &UserProfile, groups: &BTreeSet<String>) -> Model {
        Model {
            id: Tf::Known(user.iam_id.clone()),
            email: Tf::Known(user.email.clone()),
            access_group_ids: if groups.is_empty() { Tf::Null } else { known_set(groups) },
            iam_id: Tf::Known(user.iam_id.clone()),
            state: Tf::Known(user.state.clone()),
            adopted: Tf::Known(false),
            preexisting_access_group_ids: Tf::Known(BTreeSet::new()),
        }
    }
}

fn known_set(ids: &BTreeSet<String>) -> Tf<Vec<Tf<String>>> {
    Tf::Known(ids.iter().cloned().map(Tf::Known).collect())
}

/// A shape check only: IBM decides what it accepts. One `@`; a domain with a dot, neither first
/// nor last; no whitespace or control characters.
fn email_pattern() -> String {
    // Neither `@`, nor a control character (U+0000-U+001F, U+007F-U+009F), nor whitespace.
    let plain = format!(r"[^@\x00-\x1F\x7F-\x9F{WHITESPACE_CLASS}]");
    let edge = format!(r"[^.@\x00-\x1F\x7F-\x9F{WHITESPACE_CLASS}]");
    format!(r"^{plain}+@{edge}{plain}*\.{plain}*{edge}$")
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

fn failed_invite(email: &str, user: &UserProfile) -> OpError {
    let reason = user.substate.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| "IBM gave no reason".into());
    OpError::at(
        AttributePath::attr("email"),
        "Invitation failed",
        format!(
            "IBM Cloud could not invite {email}: state {} ({reason}). Check the address and the account's allowed invitation domains.",
            user.state
        ),
    )
}

/// The invited person once IBM has processed the invitation; None if they never showed up.
async fn wait_for_invitation(
    ctx: &Ctx<ProviderState>,
    client: &Client,
    email: &str,
    what: &str,
) -> Result<Option<UserProfile>, ibmcloud::Error> {
    poll_until(&ctx.cancel, INVITE_TIMEOUT, what, || async move {
        // Invitations waited for at the same time share one search.
        let found = match client.find_user_batched(email).await {
            Ok(found) => found,
            Err(()) => client.find_user_by_email(email).await?,
        };
        match found {
            Some(u) if u.state == "PROCESSING" => Ok(Poll::Pending("PROCESSING".into())),
            Some(u) => Ok(Poll::Ready(Some(u))),
            None => Ok(Poll::Pending("not yet listed".into())),
        }
    })
    .await
}

#[async_trait]
impl Resource<ProviderState> for UserInvite {
    type Model = Model;
    const TYPE_NAME: &'static str = TYPE_NAME;

    fn identity() -> IdentitySchema {
        IdentitySchema::new().lowercase(
            "email",
            "email",
            "The person's email, lowercased: its letter case changes in place, and `iam_id` may be unknown after an interrupted invite.",
        )
    }

    fn schema() -> Schema {
        Schema::new(
            0,
            Block::new("One person invited into the account (IBMid), and the access groups they belong to.")
                .attr(Attribute::string("id").computed().describe("The person's IAM ID."))
                .attr(
                    Attribute::string("email")
                        .required()
                        .check(Check::pattern(&email_pattern(), "an email address such as `ada@example.com`"))
                        .describe(
                            "The person's email. Another address replaces the resource (a new invitation); a change of letter case alone is an in-place update that calls no API.",
                        ),
                )
                .attr(
                    Attribute::string_set("access_group_ids")
                        .optional()
                        .check(Check::each(Check::pattern(
                            &format!("[^{WHITESPACE_CLASS}]"),
                            "an access group ID (`AccessGroupId-…`), not empty",
                        )))
                        .describe("Access groups the person is a member of; changes happen in place."),
                )
                .attr(Attribute::string("iam_id").computed().describe("The person's IAM ID (`IBMid-…`), for `ibmqr_access_group_members`."))
                .attr(Attribute::string("state").computed().describe("`PENDING` until the invitation is accepted, then `ACTIVE`."))
                .attr(Attribute::bool("adopted").computed().describe("True when the person was already in the account and was adopted rather than invited."))
                .attr(Attribute::string_set("preexisting_access_group_ids").computed().describe(
                    "For an adopted person: the groups of `access_group_ids` they already belonged to, which destroy leaves alone.",
                )),
        )
    }

    /// Another address replaces the person; the same address in other letter case does not.
    async fn modify_plan(&self, _ctx: &Ctx<ProviderState>, plan: &mut Plan<Model>) -> OpResult<()> {
        let Some(prior) = &plan.prior else { return Ok(()) };
        let (Some(before), Some(after)) = (prior.email.as_deref(), plan.planned.email.as_deref()) else { return Ok(()) };
        if !same_email(before, after) {
            // The framework then plans the computed attributes of the new person as unknown.
            plan.requires_replace.push(AttributePath::attr("email"));
        }
        Ok(())
    }

    async fn create(&self, ctx: &Ctx<ProviderState>, planned: Model, _config: Model) -> OpResult<Model> {
        let client = &ctx.provider()?.client;
        let email = planned.email()?.clone();
        let wanted = planned.groups();
        let doing = format!("inviting {email}");

        // The invitation goes out first: looking the person up before would cost every invite a
        // request. Someone already in the account is refused (the emulator answers 409; IBM's
        // answer is UNCERTAIN, so a 400 is looked into too) and then adopted.
        let groups: Vec<String> = wanted.iter().cloned().collect();
        if let Err(refusal) = client.invite_user(&email, &groups).await {
            if !matches!(refusal.status(), Some(409 | 400)) {
                return Err::<Model, _>(refusal).context(&doing);
            }
            let Some(user) = client.find_user_by_email(&email).await.context(&doing)? else {
                return Err::<Model, _>(refusal).context(&doing);
            };
            return match user.state.as_str() {
                "PENDING" | "ACTIVE" | "PROCESSING" => adopt(ctx, client, planned, user).await,
                "ERROR_WHILE_PROCESSING" => Err(failed_invite(&email, &user)),
                other => Err(OpError::at(
                    AttributePath::attr("email"),
                    "Person cannot be adopted",
                    format!("{email} is already in the account in state {other}; only PENDING or ACTIVE people are adopted. Resolve it in the console first."),
                )),
            };
        }
        // The invitation went out: whatever happens while waiting, the state keeps the person, so
        // that destroy removes them (found by email when the iam_id is not known yet).
        let sent = Model {
            id: Tf::Null,
            iam_id: Tf::Null,
            state: Tf::Null,
            adopted: Tf::Known(false),
            preexisting_access_group_ids: Tf::Known(BTreeSet::new()),
            ..planned.clone()
        };
        ctx.save(&sent);
        let settled =
            wait_for_invitation(ctx, client, &email, &format!("the invitation of {email} to be processed")).await.context(&doing)?;
        let Some(user) = settled else {
            return Err(OpError::new("Invitation not found", format!("{doing}: the invited person never showed up")));
        };
        if user.state == "ACTIVE" {
            // Nobody accepts an invitation this fast: the person was in the account already and
            // IBM took the invitation without refusing it (UNCERTAIN). Adopted, so that destroy
            // leaves them in the account.
            return adopt(ctx, client, planned, user).await;
        }
        let result = Model {
            id: Tf::Known(user.iam_id.clone()),
            iam_id: Tf::Known(user.iam_id.clone()),
            state: Tf::Known(user.state.clone()),
            ..sent
        };
        // The person is in the account now: every answer keeps them in state, so destroy removes them.
        ctx.save(&result);
        if user.state == "ERROR_WHILE_PROCESSING" {
            return Err(failed_invite(&email, &user));
        }
        // The invitation itself names the groups, and IBM adds the person to them when it is
        // processed; listing them again here would cost a request per invite. Should IBM have left
        // one out, the next refresh keeps only the groups the person is really in, and the plan
        // shows the missing ones again.
        Ok(result)
    }

    async fn read(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<Option<Model>> {
        let client = &ctx.provider()?.client;
        let email = prior.email()?;
        let doing = format!("reading user {email}");
        let user = match prior.iam_id.as_deref() {
            // Invitations read at the same time share one search by email; the person that search
            // does not find (gone, or another email now) is read by IAM ID, which decides.
            Some(iam_id) => match client.find_user_batched(email).await {
                Ok(Some(user)) if user.iam_id == iam_id => Ok(Some(user)),
                _ => client.get_user(iam_id).await,
            },
            // An invitation interrupted before IBM had listed the person.
            None => client.find_user_by_email(email).await,
        };
        let Some(user) = user.context(&doing)? else { return Ok(None) };
        let iam_id = user.iam_id.clone();
        // Only the groups this resource manages are compared; others belong to someone else. An
        // invite that manages none needs no look-up: refresh is then the one GET of the person.
        let managed = prior.groups();
        // Each group's members are listed once per provider process and shared by every
        // invitation into it.
        let mut kept = BTreeSet::new();
        for group in &managed {
            if client.static_member_ids(group).await.context(&doing)?.contains(&iam_id) {
                kept.insert(group.clone());
            }
        }
        Ok(Some(Model {
            id: Tf::Known(iam_id.clone()),
            email: Tf::Known(if same_email(email, &user.email) { email.clone() } else { user.email.clone() }),
            access_group_ids: if kept.is_empty() && prior.access_group_ids.is_null() { Tf::Null } else { known_set(&kept) },
            iam_id: Tf::Known(iam_id),
            state: Tf::Known(user.state.clone()),
            adopted: Tf::Known(prior.adopted.known().copied().unwrap_or(false)),
            preexisting_access_group_ids: Tf::Known(prior.preexisting()),
        }))
    }

    async fn update(&self, ctx: &Ctx<ProviderState>, prior: Model, planned: Model, _config: Model) -> OpResult<Model> {
        // A change of letter case in `email` needs no API call: IBM compares emails ignoring case.
        let Some(iam_id) = prior.iam_id.known().cloned() else {
            return Err(OpError::new("User invite has no iam_id", "the state of this invite has no iam_id; import it again by email"));
        };
        let client = &ctx.provider()?.client;
        let email = planned.email()?.clone();
        let (before, after) = (prior.groups(), planned.groups());
        let preexisting = prior.preexisting();
        let result = Model {
            id: prior.id.clone(),
            iam_id: prior.iam_id.clone(),
            state: prior.state.clone(),
            adopted: prior.adopted.clone(),
            preexisting_access_group_ids: prior.preexisting_access_group_ids.clone(),
            ..planned
        };
        // Should a step fail, state holds the memberships made so far.
        let mut current = before.clone();
        let save_current = |current: &BTreeSet<String>| ctx.save(&Model { access_group_ids: known_set(current), ..result.clone() });
        save_current(&current);
        for group in after.difference(&before) {
            client
                .add_members(group, std::slice::from_ref(&iam_id))
                .await
                .context(format_args!("adding {email} to access group {group}"))?;
            current.insert(group.clone());
            save_current(&current);
        }
        for group in before.difference(&after) {
            // Memberships an adopted person had before are not this resource's to take away.
            if !preexisting.contains(group) {
                client.remove_member(group, &iam_id).await.context(format_args!("removing {email} from access group {group}"))?;
            }
            current.remove(group);
            save_current(&current);
        }
        Ok(result)
    }

    async fn delete(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<()> {
        let client = &ctx.provider()?.client;
        let email = prior.email()?;
        let iam_id = match prior.iam_id.known() {
            Some(iam_id) => iam_id.clone(),
            // An invitation interrupted before IBM had listed the person: find them by email.
            None => {
                let found = client.find_user_by_email(email).await.context(format_args!("looking up {email} to remove them"))?;
                let Some(user) = found else { return Ok(()) };
                user.iam_id
            }
        };
        if prior.adopted == Tf::Known(true) {
            for group in prior.groups().difference(&prior.preexisting()) {
                client.remove_member(group, &iam_id).await.context(format_args!("removing {email} from access group {group}"))?;
            }
            return Ok(());
        }
        // Pending invitations are removed the same way, which cancels them.
        client.remove_user(&iam_id).await.context(format_args!("removing {email} from the account"))
    }

    /// The import ID is the person's email, not the IAM ID that state is keyed by.
    async fn import(&self, ctx: &Ctx<ProviderState>, id: &str, _stub: Model) -> OpResult<Option<Model>> {
        let client = &ctx.provider()?.client;
        let doing = format!("importing user {id}");
        let Some(user) = client.find_user_by_email(id).await.context(&doing)? else { return Ok(None) };
        let groups = groups_of(client, &user.iam_id).await.context(&doing)?;
        Ok(Some(Model::taken_over(&user, &groups)))
    }

    fn import_not_found(&self, id: &str) -> OpError {
        OpError::new("User not found", format!("nobody with the email {id:?} is in the account. Import takes the person's email."))
    }
}

/// Takes over a person already in the account: adds the missing memberships and records which
/// ones were there before, so that destroy leaves those alone.
async fn adopt(ctx: &Ctx<ProviderState>, client: &Client, planned: Model, user: UserProfile) -> OpResult<Model> {
    let email = planned.email()?.clone();
    let iam_id = user.iam_id.clone();
    let wanted = planned.groups();
    let member_of = groups_of(client, &iam_id).await.context(format_args!("listing the access groups of {email}"))?;
    let preexisting: BTreeSet<String> = wanted.intersection(&member_of).cloned().collect();
    let mut result = Model {
        id: Tf::Known(iam_id.clone()),
        iam_id: Tf::Known(iam_id.clone()),
        state: Tf::Known(user.state.clone()),
        adopted: Tf::Known(true),
        preexisting_access_group_ids: Tf::Known(preexisting),
        ..planned
    };
    // From the first membership on, the person is this resource's.
    ctx.save(&result);
    add_to_groups(client, &iam_id, wanted.difference(&member_of)).await.context(format_args!("adding {email} to access groups"))?;
    // A person still PROCESSING settles soon; the state is refreshed at the next read anyway, so
    // a failed wait is no error.
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
            result.state = Tf::Known(u.state);
        }
    }
    Ok(result)
}

/// `list "ibmqr_user_invite"` has no filters.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ListFilter {}

#[async_trait]
impl ListResource<ProviderState> for UserInvite {
    type Filter = ListFilter;

    fn list_schema() -> Schema {
        Schema::new(
            0,
            Block::new(
                "The people of the account invited by IBMid, with the access groups they are static members of. Never listed: the account owner, the caller of the provider itself, and federated users, whose groups come from dynamic rules.",
            ),
        )
    }

    async fn list(&self, ctx: &Ctx<ProviderState>, request: ListRequest<ListFilter>) -> OpResult<Vec<Listed<Model>>> {
        let client = &ctx.provider()?.client;
        let doing = "listing the account's users";
        let caller = client.identity().await.context(doing)?.iam_id;
        let owner = client.account_owner_iam_id().await.context(format_args!("{doing}: finding the account owner"))?;
        let mut people: Vec<UserProfile> = client
            .list_users()
            .await
            .context(doing)?
            .into_iter()
            .filter(|u| u.iam_id != caller && u.iam_id != owner)
            // A federated user's realm is their identity provider's; IBMid users may carry none.
            .filter(|u| u.realm.as_deref().is_none_or(|r| r.eq_ignore_ascii_case("IBMid")))
            .filter(|u| matches!(u.state.as_str(), "PENDING" | "ACTIVE" | "PROCESSING"))
            .collect();
        people.sort_by_key(|u| u.email.to_lowercase());
        people.truncate(request.limit);
        // Memberships by group: one listing per access group, however many people there are.
        let mut groups_of_person: std::collections::HashMap<String, BTreeSet<String>> = Default::default();
        if request.include_resource && !people.is_empty() {
            for group in super::groups_to_list(ctx, None).await? {
                let members =
                    client.list_static_members(&group.id).await.context(format_args!("{doing}: listing access group {}", group.name))?;
                for member in members {
                    groups_of_person.entry(member.iam_id).or_default().insert(group.id.clone());
                }
            }
        }
        Ok(people
            .into_iter()
            .map(|user| {
                let groups = groups_of_person.remove(&user.iam_id).unwrap_or_default();
                Listed { display_name: user.email.clone(), state: Model::taken_over(&user, &groups) }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::{from_value, resource, to_value, Value};

    fn validate(json: serde_json::Value) -> Vec<String> {
        let invite = resource::<ProviderState, _>(UserInvite);
        let config = Value::from_json(&json, invite.value_type()).expect("value");
        invite.validate(&config).0.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect()
    }

    #[test]
    fn email_shape() {
        assert!(validate(serde_json::json!({"email": "ada@example.com"})).is_empty());
        assert!(validate(serde_json::json!({"email": "Ada.Lovelace+qr@Example.co.uk"})).is_empty());
        for bad in [
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada @example.com",
            "a@b@c.com",
            "ada@.example.com",
            "ada@example.",
            "ada@exa\u{7}mple.com",
        ] {
            assert_eq!(validate(serde_json::json!({"email": bad})), ["email"], "{bad}");
        }
        assert_eq!(
            validate(serde_json::json!({"email": "ada@example.com", "access_group_ids": ["AccessGroupId-1", " "]})),
            ["access_group_ids"]
        );
    }

    #[tokio::test]
    async fn only_another_address_forces_replacement() {
        let invite = resource::<ProviderState, _>(UserInvite);
        let prior = Value::from_json(
            &serde_json::json!({"id": "IBMid-1", "email": "ada@example.com", "iam_id": "IBMid-1", "state": "PENDING", "adopted": false, "preexisting_access_group_ids": []}),
            invite.value_type(),
        )
        .expect("value");
        let ctx = Ctx::new(None, tokio_util::sync::CancellationToken::new());
        for (email, replace) in [("Ada@Example.COM", false), ("bob@example.com", true)] {
            let config = Value::from_json(&serde_json::json!({"email": email}), invite.value_type()).expect("config");
            let mut proposed = prior.clone();
            proposed.set("email", Value::string(email));
            let planned = invite.plan(&ctx, Some(&prior), &config, &proposed).await.expect("plans");
            assert_eq!(!planned.requires_replace.is_empty(), replace, "{email}");
            assert_eq!(planned.planned.get("iam_id").map(Value::is_unknown), Some(replace));
        }
    }

    #[test]
    fn state_model_round_trips() {
        let m = Model {
            id: Tf::Known("IBMid-1".into()),
            email: Tf::Known("ada@example.com".into()),
            access_group_ids: Tf::Known(vec![Tf::Known("AccessGroupId-1".into())]),
            iam_id: Tf::Known("IBMid-1".into()),
            state: Tf::Known("PENDING".into()),
            adopted: Tf::Known(false),
            preexisting_access_group_ids: Tf::Known(BTreeSet::new()),
        };
        let v = to_value(&m, &UserInvite::schema().value_type()).expect("encodes");
        assert_eq!(from_value::<Model>(&v).expect("decodes"), m);
    }
}
