//! Resources: one file per Terraform type, each holding its schema, plan checks, CRUD, import
//! and unit tests. Adding a resource = one file here and one line in [`all`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::configured::ProviderState;
use crate::framework::{list_resource, resource, AnyListResource, AnyResource, AttributePath, Context, Ctx, OpError, OpResult};
use crate::ibmcloud::{self, poll_until, Poll};

pub mod access_group;
pub mod access_group_dynamic_rule;
pub mod access_group_member;
pub mod access_group_members;
pub mod access_group_policy;
pub mod account_settings;
pub mod appid_directory;
pub mod appid_user;
pub mod custom_role;
pub mod identity_provider;
pub mod instance;
pub mod resource_group;
pub mod user_invite;

/// Every resource type the provider serves.
pub fn all() -> Vec<Arc<dyn AnyResource<ProviderState>>> {
    vec![
        resource(custom_role::CustomRole),
        resource(account_settings::AccountSettingsResource),
        resource(access_group_policy::AccessGroupPolicy),
        resource(resource_group::ResourceGroup),
        resource(instance::Instance),
        resource(access_group::AccessGroupResource),
        resource(access_group_members::AccessGroupMembers),
        resource(access_group_member::AccessGroupMember),
        resource(access_group_dynamic_rule::AccessGroupDynamicRule),
        resource(user_invite::UserInvite),
        resource(appid_directory::AppIdDirectory),
        resource(appid_user::AppIdUser),
        resource(identity_provider::IdentityProvider),
    ]
}

/// Every resource type `terraform query` can list. A membership is listed once: a person's as
/// their `ibmqr_user_invite`, a service ID's or trusted profile's as `ibmqr_access_group_member`;
/// `ibmqr_access_group_members` is never listed.
pub fn listable() -> Vec<Arc<dyn AnyListResource<ProviderState>>> {
    vec![
        list_resource(custom_role::CustomRole),
        list_resource(access_group::AccessGroupResource),
        list_resource(access_group_policy::AccessGroupPolicy),
        list_resource(access_group_member::AccessGroupMember),
        list_resource(access_group_dynamic_rule::AccessGroupDynamicRule),
        list_resource(resource_group::ResourceGroup),
        list_resource(instance::Instance),
        list_resource(user_invite::UserInvite),
        list_resource(appid_directory::AppIdDirectory),
        list_resource(appid_user::AppIdUser),
        list_resource(identity_provider::IdentityProvider),
    ]
}

/// An access group a list looks into: its ID and how results name it.
pub(crate) struct ListedGroup {
    pub id: String,
    pub name: String,
}

/// The access groups whose contents a list covers: the one the filter names, or else every group
/// of the account (IBM's Public Access group never: its contents are IBM's).
pub(crate) async fn groups_to_list(ctx: &Ctx<ProviderState>, access_group_id: Option<String>) -> OpResult<Vec<ListedGroup>> {
    if let Some(id) = access_group_id.filter(|id| !id.is_empty()) {
        let public = id == ibmcloud::access_groups::PUBLIC_ACCESS_GROUP_ID;
        return Ok(if public { vec![] } else { vec![ListedGroup { name: id.clone(), id }] });
    }
    let groups = ctx.provider()?.client.list_access_groups(None).await.context("listing the account's access groups")?;
    Ok(groups.into_iter().map(|g| ListedGroup { id: g.id, name: g.name }).collect())
}

/// The schema of a list over the contents of access groups (`access_group_id` filter).
pub(crate) fn group_contents_list_schema(what: &str) -> crate::framework::Schema {
    use crate::framework::{Attribute, Block, Check, Schema};
    Schema::new(
        0,
        Block::new(&format!("{what} IBM's Public Access group is never looked into.")).attr(
            Attribute::string("access_group_id")
                .optional()
                .check(Check::prefix(&["AccessGroupId-"], "an access group ID"))
                .describe("Only this access group's; every access group's when left out."),
        ),
    )
}

/// Writes an object with `If-Match` from a fresh read. A stale tag means another writer changed
/// the object, or this client's own write went through while its answer was lost (and the
/// retry carried the old tag): the object is read again, and if it shows the change already, the
/// write is done; otherwise it is written once more. Only a second stale write (a race that
/// repeats) is an error, unless the change shows within IBM's consistency lag (reads may show a
/// write late). `Ok(None)`: the object is gone.
pub(crate) async fn write_with_fresh_etag<T, Read, ReadFut, Write, WriteFut>(
    read: Read,
    shows_change: impl Fn(&T) -> bool,
    write: Write,
    is_stale: impl Fn(&ibmcloud::Error) -> bool,
) -> Result<Option<()>, ibmcloud::Error>
where
    Read: Fn() -> ReadFut,
    ReadFut: Future<Output = Result<Option<(T, Option<String>)>, ibmcloud::Error>>,
    Write: Fn(T, String) -> WriteFut,
    WriteFut: Future<Output = Result<(), ibmcloud::Error>>,
{
    let mut stale = None;
    for attempt in 0..2 {
        let Some((current, etag)) = read().await? else { return Ok(None) };
        if attempt > 0 && shows_change(&current) {
            return Ok(Some(()));
        }
        match write(current, etag.unwrap_or_else(|| "*".to_string())).await {
            Err(e) if is_stale(&e) => stale = Some(e),
            written => return written.map(Some),
        }
    }
    // Two stale writes: the second may still have gone through, its answer lost and IBM showing
    // it late. Look for the change within the lag before calling it a race that repeats.
    let deadline = tokio::time::Instant::now() + ibmcloud::create::CONSISTENCY_WINDOW;
    for round in 0.. {
        let Some((current, _)) = read().await? else { return Ok(None) };
        if shows_change(&current) {
            return Ok(Some(()));
        }
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(ibmcloud::backoff(round)).await;
    }
    Err(stale.unwrap_or_else(|| ibmcloud::Error::Decode("a write with a fresh ETag ended without an answer".into())))
}

/// IBM documents neither 409 nor 412 for a stale `If-Match` (UNCERTAIN): both mean re-read.
pub(crate) fn is_stale_etag(err: &ibmcloud::Error) -> bool {
    matches!(err.status(), Some(409 | 412))
}

/// Reads an object with `get` until it is visible and `ready` holds, within `timeout`: IBM's reads
/// lag behind its writes, so right after create/update a 404 or old data means "not yet".
/// `what` names the object in messages (`custom role ID`).
pub async fn wait_until_visible<T, Get, Fut>(
    ctx: &Ctx<ProviderState>,
    timeout: Duration,
    what: &str,
    get: Get,
    ready: impl Fn(&T) -> bool,
) -> OpResult<T>
where
    Get: Fn() -> Fut,
    Fut: Future<Output = Result<Option<T>, ibmcloud::Error>>,
{
    let (get, ready) = (&get, &ready);
    poll_until(&ctx.cancel, timeout, &format!("{what} to become visible"), || async move {
        match get().await? {
            Some(found) if ready(&found) => Ok(Poll::Ready(found)),
            Some(_) => Ok(Poll::Pending("not yet showing the change".into())),
            None => Ok(Poll::Pending("not yet visible".into())),
        }
    })
    .await
    .context(format_args!("waiting for {what}"))
}

/// The ID of the account's default resource group, for a service instance that names
/// none (Qiskit Runtime and App ID).
pub(crate) async fn default_group_id(client: &ibmcloud::Client, doing: &str) -> OpResult<String> {
    let Some(group) = client.default_resource_group().await.context(format_args!("{doing}: finding the default resource group"))? else {
        return Err(OpError::at(
            AttributePath::attr("resource_group_id"),
            "No default resource group",
            format!("{doing}: the account has no default resource group; set resource_group_id."),
        ));
    };
    Ok(group.id)
}

#[cfg(test)]
mod fresh_etag_tests {
    use std::cell::Cell;

    use super::{is_stale_etag, write_with_fresh_etag};
    use crate::ibmcloud::{ApiError, Error};

    /// Runs a write against an object whose "value" the writes set, where the first `stale_writes`
    /// writes fail as stale and, with `applied_anyway`, the last of those took effect (its answer
    /// lost, a retry answered stale): the outcome and the writes sent.
    fn run(stale_writes: u32, applied_anyway: bool) -> (Result<Option<()>, Error>, u32) {
        let value = Cell::new(0);
        let writes = Cell::new(0);
        let read = || async { Ok(Some((value.get(), Some("\"1\"".to_string())))) };
        let write = |_current: i32, _etag: String| {
            writes.set(writes.get() + 1);
            let stale = writes.get() <= stale_writes;
            if !stale || (applied_anyway && writes.get() == stale_writes) {
                value.set(7);
            }
            async move {
                match stale {
                    true => Err(Error::Api(ApiError::from_body(412, br#"{"errors":[{"code":"precondition_failed"}]}"#))),
                    false => Ok(()),
                }
            }
        };
        // Paused time: the look for a late-showing change passes at once.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().expect("runtime");
        let outcome = runtime.block_on(write_with_fresh_etag(read, |v: &i32| *v == 7, write, is_stale_etag));
        (outcome, writes.get())
    }

    #[test]
    fn a_race_is_written_once_more_and_a_lost_answer_is_recognised() {
        assert_eq!(run(0, false).1, 1, "no race: one write");
        let (outcome, writes) = run(1, false);
        assert!(matches!(outcome, Ok(Some(()))) && writes == 2, "one race: written once more");
        let (outcome, writes) = run(1, true);
        assert!(matches!(outcome, Ok(Some(()))) && writes == 1, "a stale answer to a write that went through: done");
        let (outcome, writes) = run(2, true);
        assert!(matches!(outcome, Ok(Some(()))) && writes == 2, "a race, then a stale answer to a write that went through: done");
        let (outcome, writes) = run(2, false);
        assert!(outcome.is_err_and(|e| e.status() == Some(412)) && writes == 2, "a race that repeats is an error");
    }
}

#[cfg(test)]
mod identity_tests {
    use super::all;
    use crate::framework::Type;

    /// Terraform 1.12+ fails on an identity that changes or is unknown after apply: each identity
    /// attribute must come from a string attribute that is computed only (IBM assigns it, never
    /// changes it) or replaces the object when changed; a lowercased one may change case in place.
    #[test]
    fn every_identity_comes_from_attributes_never_updated_in_place() {
        for resource in all() {
            let block = &resource.schema().block;
            let identity = resource.identity_schema();
            assert!(!identity.attributes.is_empty(), "{} has no identity", resource.type_name());
            for attr in &identity.attributes {
                let (source, lowercased) = attr.state_attribute().unwrap_or(("id", false));
                let state_attr = block.attribute(source).unwrap_or_else(|| panic!("{}: no attribute {source}", resource.type_name()));
                assert_eq!(state_attr.ty(), Type::String, "{}.{source}", resource.type_name());
                let computed_only = state_attr.computed && !state_attr.optional && !state_attr.required;
                assert!(
                    computed_only || state_attr.force_new || lowercased,
                    "{}: identity attribute {} comes from {source}, which is updated in place",
                    resource.type_name(),
                    attr.name
                );
                assert!(!attr.description.is_empty(), "{}: identity attribute {} has no description", resource.type_name(), attr.name);
            }
        }
    }
}
