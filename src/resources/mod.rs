//! Resources: one file per Terraform type, each holding its schema, plan checks, CRUD, import
//! and unit tests. Adding a resource = one file here and one line in [`all`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::configured::{api_error, provider, ProviderState};
use crate::framework::legacy::{self, Ctx as LegacyCtx};
use crate::framework::{decode, Diagnostics, Value};
use crate::framework::{resource, AnyResource, Context, Ctx, OpResult};
use crate::ibmcloud::{self, poll_until, Poll};

pub mod access_group;
pub mod access_group_dynamic_rule;
pub mod access_group_member;
pub mod access_group_members;
pub mod access_group_policy;
pub mod account_settings;
pub mod custom_role;
pub mod instance;
pub mod resource_group;
pub mod user_invite;

/// Every resource type the provider serves.
pub fn all() -> Vec<Arc<dyn AnyResource<ProviderState>>> {
    vec![
        resource(custom_role::CustomRole),
        resource(account_settings::AccountSettingsResource),
        resource(access_group_policy::AccessGroupPolicy),
        legacy::resource(resource_group::ResourceGroup),
        resource(instance::Instance),
        legacy::resource(access_group::AccessGroupResource),
        resource(access_group_members::AccessGroupMembers),
        resource(access_group_member::AccessGroupMember),
        resource(access_group_dynamic_rule::AccessGroupDynamicRule),
        resource(user_invite::UserInvite),
    ]
}

/// The opening of create and delete: the configured provider and the decoded `value`
/// (a missing provider is reported first).
pub fn provider_and<'a, M: DeserializeOwned>(ctx: &'a LegacyCtx, value: &Value) -> Result<(&'a ProviderState, M), Diagnostics> {
    Ok((provider(ctx)?, decode(value)?))
}

/// The opening of update: the configured provider, the decoded prior state and the decoded plan,
/// errors reported in that order.
pub fn provider_and_both<'a, M: DeserializeOwned>(
    ctx: &'a LegacyCtx,
    prior: &Value,
    planned: &Value,
) -> Result<(&'a ProviderState, M, M), Diagnostics> {
    Ok((provider(ctx)?, decode(prior)?, decode(planned)?))
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

/// [`wait_until_visible`] for resources not yet on the typed framework.
pub async fn legacy_wait_until_visible<T, Get, Fut>(
    ctx: &LegacyCtx,
    timeout: Duration,
    what: &str,
    get: Get,
    ready: impl Fn(&T) -> bool,
) -> Result<T, Diagnostics>
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
    .map_err(|e| api_error(&format!("waiting for {what}"), &e))
}

/// The object an import ID names: an API error becomes `api_error(doing, ..)`, none found becomes
/// `not_found()` (which says what the ID should be).
pub fn found_for_import<T>(
    lookup: Result<Option<T>, ibmcloud::Error>,
    doing: &str,
    not_found: impl FnOnce() -> Diagnostics,
) -> Result<T, Diagnostics> {
    match lookup {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(not_found()),
        Err(e) => Err(api_error(doing, &e)),
    }
}

/// Unicode's White_Space characters as the inside of a regex class: the regex crate is built
/// without Unicode tables, so `\s` is not available (see Cargo.toml).
pub(crate) const WHITESPACE_CLASS: &str = r"\t\n\x0B\x0C\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}";
