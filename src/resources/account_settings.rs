//! `ibmqr_account_settings`: the account's IAM settings (IAM Identity
//! `/v1/accounts/{account_id}/settings/identity`), one object per account.
//!
//! Only attributes present in the configuration are managed. The attributes are optional and
//! computed, so an attribute the configuration leaves out keeps whatever state holds: null after
//! a create (never written, never read back), or the value an import wrote (refreshed, but never
//! planned as a change since Terraform keeps the prior value of a computed attribute the
//! configuration leaves out). Read refreshes only attributes that are non-null in state.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::configured::ProviderState;
use crate::framework::{Attribute, Block, Check, Context, Ctx, IdentitySchema, OpError, OpResult, Plan, Resource, Schema, Tf};
use crate::ibmcloud::{self, AccountSettings, AccountSettingsUpdate, Client, UserDomainRestriction, IBMID_REALM};

use crate::plan_checks::WHITESPACE_CLASS;

pub const TYPE_NAME: &str = "ibmqr_account_settings";

fn names(table: &'static [(&'static str, &'static str)]) -> Vec<&'static str> {
    table.iter().map(|(ours, _)| *ours).collect()
}

/// `user_list_visibility` values and their API spelling.
const VISIBILITY: &[(&str, &str)] = &[("restricted", "RESTRICTED"), ("unrestricted", "NOT_RESTRICTED")];
/// `api_key_creation` / `service_id_creation` values and their API spelling.
const CREATION: &[(&str, &str)] = &[("restricted", "RESTRICTED"), ("unrestricted", "NOT_RESTRICTED"), ("not_set", "NOT_SET")];
const MFA: &[&str] = &["NONE", "NONE_NO_ROPC", "TOTP", "TOTP4ALL", "LEVEL1", "LEVEL2", "LEVEL3"];

pub struct AccountSettingsResource;

#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct Model {
    id: Tf<String>,
    user_list_visibility: Tf<String>,
    api_key_creation: Tf<String>,
    service_id_creation: Tf<String>,
    mfa: Tf<String>,
    session_expiration_seconds: Tf<i64>,
    session_invalidation_seconds: Tf<i64>,
    max_sessions_per_identity: Tf<i64>,
    allowed_ip_addresses: Tf<Vec<Tf<String>>>,
    invitation_email_domains: Tf<Vec<Tf<String>>>,
    /// The alias in the account's login URL (`/v2/loginsettings/{account}`), apart from the IAM settings.
    login_alias: Tf<String>,
}

/// The known entries of a list, or None for a null list.
fn entries(list: &Tf<Vec<Tf<String>>>) -> Option<Vec<String>> {
    list.known().map(|items| items.iter().filter_map(Tf::known).cloned().collect())
}

fn known_list(items: Vec<String>) -> Tf<Vec<Tf<String>>> {
    Tf::Known(items.into_iter().map(Tf::Known).collect())
}

fn to_api(table: &[(&str, &str)], ours: &str) -> String {
    table.iter().find(|(o, _)| *o == ours).map_or_else(|| ours.to_uppercase(), |(_, api)| api.to_string())
}

fn from_api(table: &[(&str, &str)], api: &str) -> String {
    table.iter().find(|(_, a)| *a == api).map_or_else(|| api.to_lowercase(), |(o, _)| o.to_string())
}

/// `"3600"` → 3600; `"NOT_SET"`, empty or absent → None.
fn api_number(v: &Option<String>) -> Option<i64> {
    v.as_deref().and_then(|s| s.trim().parse().ok())
}

fn split_addresses(v: &Option<String>) -> Vec<String> {
    v.as_deref().unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn ibmid_patterns(settings: &AccountSettings) -> Vec<String> {
    settings
        .restrict_user_domains
        .iter()
        .find(|d| d.realm_id == IBMID_REALM)
        .and_then(|d| d.invitation_email_allow_patterns.clone())
        .unwrap_or_default()
}

/// Every setting as IBM has it, in the resource's canonical forms (import).
fn model_from_settings(settings: &AccountSettings, account_id: &str) -> Model {
    Model {
        id: Tf::Known(account_id.to_string()),
        user_list_visibility: settings.restrict_user_list_visibility.as_deref().map(|v| from_api(VISIBILITY, v)).into(),
        api_key_creation: settings.restrict_create_platform_apikey.as_deref().map(|v| from_api(CREATION, v)).into(),
        service_id_creation: settings.restrict_create_service_id.as_deref().map(|v| from_api(CREATION, v)).into(),
        mfa: settings.mfa.clone().into(),
        session_expiration_seconds: api_number(&settings.session_expiration_in_seconds).into(),
        session_invalidation_seconds: api_number(&settings.session_invalidation_in_seconds).into(),
        max_sessions_per_identity: api_number(&settings.max_sessions_per_identity).into(),
        allowed_ip_addresses: known_list(split_addresses(&settings.allowed_ip_addresses)),
        invitation_email_domains: known_list(ibmid_patterns(settings)),
        login_alias: Tf::Null,
    }
}

/// Refreshes the attributes that are non-null in `prior`; the others stay null (unmanaged).
/// Lists keep the user's spelling when they name the same entries.
fn refresh(prior: &Model, settings: &AccountSettings) -> Model {
    let fresh = model_from_settings(settings, prior.id.as_deref().unwrap_or(&settings.account_id));
    fn pick<T: Clone>(prior: &Tf<T>, fresh: &Tf<T>) -> Tf<T> {
        if prior.is_known() {
            fresh.clone()
        } else {
            Tf::Null
        }
    }
    let pick_list = |p: &Tf<Vec<Tf<String>>>, f: &Tf<Vec<Tf<String>>>| match entries(p) {
        None => Tf::Null,
        Some(p) if normalized(&p) == normalized(&entries(f).unwrap_or_default()) => known_list(p),
        Some(_) => f.clone(),
    };
    Model {
        id: fresh.id.clone(),
        user_list_visibility: pick(&prior.user_list_visibility, &fresh.user_list_visibility),
        api_key_creation: pick(&prior.api_key_creation, &fresh.api_key_creation),
        service_id_creation: pick(&prior.service_id_creation, &fresh.service_id_creation),
        mfa: pick(&prior.mfa, &fresh.mfa),
        session_expiration_seconds: pick(&prior.session_expiration_seconds, &fresh.session_expiration_seconds),
        session_invalidation_seconds: pick(&prior.session_invalidation_seconds, &fresh.session_invalidation_seconds),
        max_sessions_per_identity: pick(&prior.max_sessions_per_identity, &fresh.max_sessions_per_identity),
        allowed_ip_addresses: pick_list(&prior.allowed_ip_addresses, &fresh.allowed_ip_addresses),
        invitation_email_domains: pick_list(&prior.invitation_email_domains, &fresh.invitation_email_domains),
        login_alias: prior.login_alias.clone(),
    }
}

fn normalized(list: &[String]) -> Vec<String> {
    list.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

/// The PUT body that brings `current` to what `wanted` manages: only fields that differ.
fn changes(wanted: &Model, current: &AccountSettings) -> AccountSettingsUpdate {
    let mut update = AccountSettingsUpdate::default();
    let differs = |want: Option<String>, have: &Option<String>| want.filter(|w| Some(w) != have.as_ref());
    update.restrict_user_list_visibility =
        differs(wanted.user_list_visibility.as_deref().map(|v| to_api(VISIBILITY, v)), &current.restrict_user_list_visibility);
    update.restrict_create_platform_apikey =
        differs(wanted.api_key_creation.as_deref().map(|v| to_api(CREATION, v)), &current.restrict_create_platform_apikey);
    update.restrict_create_service_id =
        differs(wanted.service_id_creation.as_deref().map(|v| to_api(CREATION, v)), &current.restrict_create_service_id);
    update.mfa = differs(wanted.mfa.known().cloned(), &current.mfa);
    let number =
        |want: &Tf<i64>, have: &Option<String>| want.known().copied().filter(|w| Some(*w) != api_number(have)).map(|w| w.to_string());
    update.session_expiration_in_seconds = number(&wanted.session_expiration_seconds, &current.session_expiration_in_seconds);
    update.session_invalidation_in_seconds = number(&wanted.session_invalidation_seconds, &current.session_invalidation_in_seconds);
    update.max_sessions_per_identity = number(&wanted.max_sessions_per_identity, &current.max_sessions_per_identity);
    if let Some(addresses) = entries(&wanted.allowed_ip_addresses) {
        if normalized(&addresses) != split_addresses(&current.allowed_ip_addresses) {
            update.allowed_ip_addresses = Some(normalized(&addresses).join(","));
        }
    }
    if let Some(patterns) = entries(&wanted.invitation_email_domains) {
        let patterns = normalized(&patterns);
        if patterns != ibmid_patterns(current) {
            // Other realms' entries are sent back unchanged, whether IBM merges entries per realm
            // or replaces the list (UNCERTAIN). An entry with only `realm_id` removes it.
            let mut domains: Vec<UserDomainRestriction> =
                current.restrict_user_domains.iter().filter(|d| d.realm_id != IBMID_REALM).cloned().collect();
            domains.push(if patterns.is_empty() {
                UserDomainRestriction { realm_id: IBMID_REALM.into(), ..Default::default() }
            } else {
                UserDomainRestriction {
                    realm_id: IBMID_REALM.into(),
                    invitation_email_allow_patterns: Some(patterns),
                    restrict_invitation: Some(true),
                }
            });
            update.restrict_user_domains = Some(domains);
        }
    }
    update
}

/// One list entry: a single address, range or pattern.
fn one_entry() -> Check {
    Check::each(Check::pattern(
        &format!("^[^,{WHITESPACE_CLASS}]+$"),
        "one non-empty entry without spaces or commas; write each entry as its own list element",
    ))
}

#[async_trait]
impl Resource<ProviderState> for AccountSettingsResource {
    type Model = Model;
    const TYPE_NAME: &'static str = TYPE_NAME;

    fn identity() -> IdentitySchema {
        IdentitySchema::new().from_attr("account_id", "id", "The account ID: an account has one set of settings.")
    }

    fn schema() -> Schema {
        let setting = |a: Attribute, text: &str| a.optional().computed().describe(text);
        Schema::new(
            0,
            Block::new(
                "The account's IAM settings. Only attributes set in the configuration are managed; destroying the resource leaves the settings as they are.",
            )
            .attr(Attribute::string("id").computed().describe("The account ID."))
            .attr(setting(
                Attribute::string("user_list_visibility").check(Check::one_of(&names(VISIBILITY))),
                "`restricted`: users see only the users they invited; `unrestricted`: everyone sees all users.",
            ))
            .attr(setting(
                Attribute::string("api_key_creation").check(Check::one_of(&names(CREATION))),
                "Who may create user API keys; `restricted` allows only users granted it.",
            ))
            .attr(setting(Attribute::string("service_id_creation").check(Check::one_of(&names(CREATION))), "Who may create service IDs."))
            .attr(setting(Attribute::string("mfa").check(Check::one_of(MFA)), "Multi-factor authentication."))
            .attr(setting(
                Attribute::number("session_expiration_seconds").check(Check::whole_number(900, 86_400)),
                "Session lifetime, in seconds.",
            ))
            .attr(setting(
                Attribute::number("session_invalidation_seconds").check(Check::whole_number(900, 7_200)),
                "Inactivity timeout, in seconds.",
            ))
            .attr(setting(Attribute::number("max_sessions_per_identity").check(Check::at_least(1)), "Concurrent sessions per identity."))
            .attr(setting(
                Attribute::string_list("allowed_ip_addresses").check(one_entry()),
                "IP addresses or CIDR ranges allowed to use the account; empty list = no restriction.",
            ))
            .attr(setting(
                Attribute::string_list("invitation_email_domains").check(one_entry()),
                "E-mail patterns (such as `*@example.edu`) IBMid users must match to be invited; empty list = no restriction.",
            ))
            .attr(setting(
                Attribute::string("login_alias").check(Check::pattern("^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$", "3 to 64 lowercase letters, digits and hyphens, such as `qiskit-campus`")),
                "The alias in the account's login URL, `https://cloud.ibm.com/authorize/ALIAS`; IBM may require it before the first identity provider.",
            )),
        )
    }

    async fn modify_plan(&self, _ctx: &Ctx<ProviderState>, plan: &mut Plan<Model>) -> OpResult<()> {
        // On create, settings the configuration leaves out are not managed: they stay null
        // rather than "known after apply". Every setting is then planned as configured.
        if plan.is_create() {
            plan.planned = Model { id: plan.planned.id.clone(), ..plan.config.clone() };
        }
        Ok(())
    }

    async fn create(&self, ctx: &Ctx<ProviderState>, planned: Model, config: Model) -> OpResult<Model> {
        let client = &ctx.provider()?.client;
        let account_id = client.identity().await.context("reading the account of the provider")?.account_id;
        // What the configuration manages: its non-null attributes.
        write_settings(client, &account_id, &config).await.context(format_args!("updating the IAM settings of account {account_id}"))?;
        write_alias(client, &account_id, &config).await?;
        Ok(Model { id: Tf::Known(account_id), ..planned })
    }

    async fn read(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<Option<Model>> {
        let client = &ctx.provider()?.client;
        let Some(account_id) = prior.id.as_deref() else { return Ok(None) };
        // The settings exist as long as the account does.
        let settings = match client.get_account_settings(account_id).await {
            Err(e) if e.is_not_found() => None,
            fetched => Some(fetched.context(format_args!("reading the IAM settings of account {account_id}"))?),
        };
        let Some(mut fresh) = settings.map(|settings| refresh(&prior, &settings)) else { return Ok(None) };
        if prior.login_alias.is_known() {
            fresh.login_alias = Tf::Known(
                client.get_login_alias(account_id).await.context(format_args!("reading the login alias of account {account_id}"))?,
            );
        }
        Ok(Some(fresh))
    }

    async fn update(&self, ctx: &Ctx<ProviderState>, prior: Model, planned: Model, config: Model) -> OpResult<Model> {
        let Some(account_id) = prior.id.known().cloned() else {
            return Err(OpError::new("Account settings have no id", "the state has no account id; import the settings again"));
        };
        let client = &ctx.provider()?.client;
        write_settings(client, &account_id, &config).await.context(format_args!("updating the IAM settings of account {account_id}"))?;
        write_alias(client, &account_id, &config).await?;
        Ok(Model { id: Tf::Known(account_id), ..planned })
    }

    async fn delete(&self, _ctx: &Ctx<ProviderState>, _prior: Model) -> OpResult<()> {
        // The settings belong to the account and cannot be deleted; they are left as they are.
        Ok(())
    }

    /// Import records every setting as IBM has it, where read refreshes only those in state.
    async fn import(&self, ctx: &Ctx<ProviderState>, id: &str, _stub: Model) -> OpResult<Option<Model>> {
        let client = &ctx.provider()?.client;
        let own = client.identity().await.context("reading the account of the provider")?.account_id;
        if id != own {
            return Err(OpError::new(
                "Wrong account",
                format!("import takes the provider's account ID, {own:?}; {id:?} is another account. Configure the provider for that account to manage its settings."),
            ));
        }
        let settings = client.get_account_settings(id).await.context(format_args!("importing the IAM settings of account {id}"))?;
        let mut model = model_from_settings(&settings, id);
        let alias = client.get_login_alias(id).await.context(format_args!("importing the login alias of account {id}"))?;
        model.login_alias = Some(alias).filter(|a| !a.is_empty()).into();
        Ok(Some(model))
    }
}

/// Sets the login alias when the configuration manages it and IBM's differs.
async fn write_alias(client: &Client, account_id: &str, wanted: &Model) -> OpResult<()> {
    let Some(alias) = wanted.login_alias.known() else { return Ok(()) };
    let doing = format!("setting the login alias of account {account_id}");
    if client.get_login_alias(account_id).await.context(&doing)? != *alias {
        client.set_login_alias(account_id, alias).await.context(&doing)?;
    }
    Ok(())
}

/// Writes the managed settings that differ from IBM's, with If-Match from a fresh read (see
/// [`super::write_with_fresh_etag`]). Nothing to change → no PUT.
async fn write_settings(client: &Client, account_id: &str, wanted: &Model) -> Result<(), ibmcloud::Error> {
    let read = || async {
        let current = client.get_account_settings(account_id).await?;
        let tag = Some(current.entity_tag.clone()).filter(|t| !t.is_empty());
        Ok(Some((current, tag)))
    };
    let shows_change = |current: &AccountSettings| changes(wanted, current).is_empty();
    let write = |current: AccountSettings, tag: String| async move {
        let update = changes(wanted, &current);
        if update.is_empty() {
            return Ok(());
        }
        client.update_account_settings(account_id, &tag, &update).await.map(|_| ())
    };
    super::write_with_fresh_etag(read, shows_change, write, super::is_stale_etag).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::{resource, Value};

    fn settings(json: serde_json::Value) -> AccountSettings {
        serde_json::from_value(json).expect("settings")
    }

    fn strings(items: &[&str]) -> Tf<Vec<Tf<String>>> {
        known_list(items.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn validate_names_attributes_and_valid_values() {
        let account = resource::<ProviderState, _>(AccountSettingsResource);
        let config = |json| Value::from_json(&json, account.value_type()).expect("value");
        let d = account.validate(&config(serde_json::json!({
            "user_list_visibility": "hidden", "mfa": "totp", "session_expiration_seconds": 60,
            "allowed_ip_addresses": ["1.2.3.4, 5.6.7.8"]
        })));
        let paths: Vec<String> = d.0.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect();
        assert_eq!(paths, ["user_list_visibility", "mfa", "session_expiration_seconds", "allowed_ip_addresses[0]"]);
        assert!(d.0[0].detail.contains("restricted, unrestricted"));
        let ok = config(serde_json::json!({"user_list_visibility": "restricted", "mfa": "TOTP", "max_sessions_per_identity": 3}));
        assert!(!account.validate(&ok).has_errors());
    }

    #[test]
    fn changes_send_only_what_differs() {
        let current = settings(serde_json::json!({
            "entity_tag": "1-a", "restrict_user_list_visibility": "NOT_RESTRICTED", "restrict_create_platform_apikey": "NOT_SET",
            "session_expiration_in_seconds": "86400", "allowed_ip_addresses": "",
            "restrict_user_domains": [{"realm_id": "other", "invitation_email_allow_patterns": ["x"]}]
        }));
        let wanted = Model {
            user_list_visibility: Tf::Known("restricted".into()),
            api_key_creation: Tf::Known("not_set".into()),
            session_expiration_seconds: Tf::Known(86_400),
            allowed_ip_addresses: strings(&["10.0.0.0/8", "1.2.3.4"]),
            invitation_email_domains: strings(&["*@uni.edu"]),
            ..Default::default()
        };
        let u = changes(&wanted, &current);
        assert_eq!(u.restrict_user_list_visibility.as_deref(), Some("RESTRICTED"));
        assert_eq!(u.restrict_create_platform_apikey, None);
        assert_eq!(u.session_expiration_in_seconds, None);
        assert_eq!(u.allowed_ip_addresses.as_deref(), Some("10.0.0.0/8,1.2.3.4"));
        let domains = u.restrict_user_domains.expect("domains");
        assert_eq!(domains.len(), 2, "other realm kept");
        assert_eq!(domains[1].invitation_email_allow_patterns.as_deref(), Some(&["*@uni.edu".to_string()][..]));
        assert!(changes(&Model::default(), &current).is_empty(), "nothing managed, nothing written");
    }

    #[test]
    fn refresh_keeps_unmanaged_null_and_user_spelling() {
        let current = settings(serde_json::json!({
            "account_id": "acc", "restrict_user_list_visibility": "RESTRICTED", "mfa": "TOTP",
            "session_expiration_in_seconds": "NOT_SET", "allowed_ip_addresses": "1.2.3.4,5.6.7.8"
        }));
        let prior = Model {
            id: Tf::Known("acc".into()),
            user_list_visibility: Tf::Known("unrestricted".into()),
            session_expiration_seconds: Tf::Known(3600),
            allowed_ip_addresses: strings(&[" 1.2.3.4", "5.6.7.8"]),
            ..Default::default()
        };
        let fresh = refresh(&prior, &current);
        assert_eq!(fresh.user_list_visibility.as_deref(), Some("restricted"));
        assert_eq!(fresh.mfa, Tf::Null, "unmanaged stays null");
        assert_eq!(fresh.session_expiration_seconds, Tf::Null, "NOT_SET reads as null");
        assert_eq!(fresh.allowed_ip_addresses, prior.allowed_ip_addresses);
        let imported = model_from_settings(&current, "acc");
        assert_eq!(imported.mfa.as_deref(), Some("TOTP"));
        assert_eq!(imported.invitation_email_domains, strings(&[]));
    }
}
