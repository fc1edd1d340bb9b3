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

use crate::framework::legacy::{state_from, Ctx, Plan, Resource, StateResult};
use crate::framework::{decode, from_value, to_value, Attribute, AttributePath, Block, Diagnostics, Schema, Value};
use crate::ibmcloud::{self, AccountSettings, AccountSettingsUpdate, UserDomainRestriction, IBMID_REALM};

use crate::configured::{api_error, provider};

pub const TYPE_NAME: &str = "ibmqr_account_settings";

fn names(table: &'static [(&'static str, &'static str)]) -> Vec<&'static str> {
    table.iter().map(|(ours, _)| *ours).collect()
}

/// `user_list_visibility` values and their API spelling.
const VISIBILITY: &[(&str, &str)] = &[("restricted", "RESTRICTED"), ("unrestricted", "NOT_RESTRICTED")];
/// `api_key_creation` / `service_id_creation` values and their API spelling.
const CREATION: &[(&str, &str)] = &[("restricted", "RESTRICTED"), ("unrestricted", "NOT_RESTRICTED"), ("not_set", "NOT_SET")];
const MFA: &[&str] = &["NONE", "NONE_NO_ROPC", "TOTP", "TOTP4ALL", "LEVEL1", "LEVEL2", "LEVEL3"];
/// Number attributes with their allowed range (IBM's limits).
const NUMBERS: &[(&str, i64, i64)] = &[
    ("session_expiration_seconds", 900, 86_400),
    ("session_invalidation_seconds", 900, 7_200),
    ("max_sessions_per_identity", 1, i64::MAX),
];
/// The managed attributes (everything but `id`).
const SETTINGS: &[&str] = &[
    "user_list_visibility",
    "api_key_creation",
    "service_id_creation",
    "mfa",
    "session_expiration_seconds",
    "session_invalidation_seconds",
    "max_sessions_per_identity",
    "allowed_ip_addresses",
    "invitation_email_domains",
];

pub struct AccountSettingsResource;

#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
struct Model {
    id: Option<String>,
    user_list_visibility: Option<String>,
    api_key_creation: Option<String>,
    service_id_creation: Option<String>,
    mfa: Option<String>,
    session_expiration_seconds: Option<i64>,
    session_invalidation_seconds: Option<i64>,
    max_sessions_per_identity: Option<i64>,
    allowed_ip_addresses: Option<Vec<String>>,
    invitation_email_domains: Option<Vec<String>>,
}

fn encode(model: &Model) -> Result<Value, Diagnostics> {
    Ok(to_value(model, &AccountSettingsResource.schema().value_type())?)
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
        id: Some(account_id.to_string()),
        user_list_visibility: settings.restrict_user_list_visibility.as_deref().map(|v| from_api(VISIBILITY, v)),
        api_key_creation: settings.restrict_create_platform_apikey.as_deref().map(|v| from_api(CREATION, v)),
        service_id_creation: settings.restrict_create_service_id.as_deref().map(|v| from_api(CREATION, v)),
        mfa: settings.mfa.clone(),
        session_expiration_seconds: api_number(&settings.session_expiration_in_seconds),
        session_invalidation_seconds: api_number(&settings.session_invalidation_in_seconds),
        max_sessions_per_identity: api_number(&settings.max_sessions_per_identity),
        allowed_ip_addresses: Some(split_addresses(&settings.allowed_ip_addresses)),
        invitation_email_domains: Some(ibmid_patterns(settings)),
    }
}

/// Refreshes the attributes that are non-null in `prior`; the others stay null (unmanaged).
/// Lists keep the user's spelling when they name the same entries.
fn refresh(prior: &Model, settings: &AccountSettings) -> Model {
    let fresh = model_from_settings(settings, prior.id.as_deref().unwrap_or(&settings.account_id));
    let pick = |p: &Option<String>, f: &Option<String>| if p.is_some() { f.clone() } else { None };
    let pick_n = |p: &Option<i64>, f: &Option<i64>| if p.is_some() { *f } else { None };
    let pick_list = |p: &Option<Vec<String>>, f: &Option<Vec<String>>| match p {
        None => None,
        Some(p) if normalized(p) == normalized(f.as_deref().unwrap_or_default()) => Some(p.clone()),
        Some(_) => f.clone(),
    };
    Model {
        id: fresh.id.clone(),
        user_list_visibility: pick(&prior.user_list_visibility, &fresh.user_list_visibility),
        api_key_creation: pick(&prior.api_key_creation, &fresh.api_key_creation),
        service_id_creation: pick(&prior.service_id_creation, &fresh.service_id_creation),
        mfa: pick(&prior.mfa, &fresh.mfa),
        session_expiration_seconds: pick_n(&prior.session_expiration_seconds, &fresh.session_expiration_seconds),
        session_invalidation_seconds: pick_n(&prior.session_invalidation_seconds, &fresh.session_invalidation_seconds),
        max_sessions_per_identity: pick_n(&prior.max_sessions_per_identity, &fresh.max_sessions_per_identity),
        allowed_ip_addresses: pick_list(&prior.allowed_ip_addresses, &fresh.allowed_ip_addresses),
        invitation_email_domains: pick_list(&prior.invitation_email_domains, &fresh.invitation_email_domains),
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
    update.mfa = differs(wanted.mfa.clone(), &current.mfa);
    let number = |want: Option<i64>, have: &Option<String>| want.filter(|w| Some(*w) != api_number(have)).map(|w| w.to_string());
    update.session_expiration_in_seconds = number(wanted.session_expiration_seconds, &current.session_expiration_in_seconds);
    update.session_invalidation_in_seconds = number(wanted.session_invalidation_seconds, &current.session_invalidation_in_seconds);
    update.max_sessions_per_identity = number(wanted.max_sessions_per_identity, &current.max_sessions_per_identity);
    if let Some(addresses) = &wanted.allowed_ip_addresses {
        if normalized(addresses) != split_addresses(&current.allowed_ip_addresses) {
            update.allowed_ip_addresses = Some(normalized(addresses).join(","));
        }
    }
    if let Some(patterns) = &wanted.invitation_email_domains {
        let patterns = normalized(patterns);
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

/// What the configuration manages: its non-null attributes.
fn managed_from_config(config: &Value) -> Result<Model, Diagnostics> {
    Ok(from_value(config)?)
}

#[async_trait]
impl Resource for AccountSettingsResource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        let setting = |a: Attribute, text: &str| a.optional().computed().describe(text);
        Schema::new(
            0,
            Block::new(
                "The account's IAM settings. Only attributes set in the configuration are managed; destroying the resource leaves the settings as they are.",
            )
            .attr(Attribute::string("id").computed().describe("The account ID."))
            .attr(setting(
                Attribute::string("user_list_visibility"),
                "`restricted`: users see only the users they invited; `unrestricted`: everyone sees all users.",
            ))
            .attr(setting(
                Attribute::string("api_key_creation"),
                "Who may create user API keys: `restricted` (only users granted it), `unrestricted` or `not_set`.",
            ))
            .attr(setting(
                Attribute::string("service_id_creation"),
                "Who may create service IDs: `restricted`, `unrestricted` or `not_set`.",
            ))
            .attr(setting(
                Attribute::string("mfa"),
                "Multi-factor authentication: `NONE`, `NONE_NO_ROPC`, `TOTP`, `TOTP4ALL`, `LEVEL1`, `LEVEL2` or `LEVEL3`.",
            ))
            .attr(setting(Attribute::number("session_expiration_seconds"), "Session lifetime, 900–86400 seconds."))
            .attr(setting(Attribute::number("session_invalidation_seconds"), "Inactivity timeout, 900–7200 seconds."))
            .attr(setting(Attribute::number("max_sessions_per_identity"), "Concurrent sessions per identity, at least 1."))
            .attr(setting(
                Attribute::string_list("allowed_ip_addresses"),
                "IP addresses or CIDR ranges allowed to use the account; empty list = no restriction.",
            ))
            .attr(setting(
                Attribute::string_list("invitation_email_domains"),
                "E-mail patterns (such as `*@example.edu`) IBMid users must match to be invited; empty list = no restriction.",
            )),
        )
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        let choice = |diags: &mut Diagnostics, name: &str, allowed: &[&str]| {
            if let Some(Value::String(v)) = config.get(name) {
                if !allowed.contains(&v.as_str()) {
                    diags.add_attr_error(
                        AttributePath::attr(name),
                        format!("Invalid {name}"),
                        format!("{v:?} is not a valid {name}; use one of: {}.", allowed.join(", ")),
                    );
                }
            }
        };
        choice(&mut diags, "user_list_visibility", &names(VISIBILITY));
        choice(&mut diags, "api_key_creation", &names(CREATION));
        choice(&mut diags, "service_id_creation", &names(CREATION));
        choice(&mut diags, "mfa", MFA);
        for (name, min, max) in NUMBERS {
            let Some(Value::Number(n)) = config.get(name) else { continue };
            let whole = n.as_i64().filter(|v| (min..=max).contains(&v));
            if whole.is_none() {
                let range = if *max == i64::MAX {
                    format!("a whole number of at least {min}")
                } else {
                    format!("a whole number from {min} to {max}")
                };
                diags.add_attr_error(AttributePath::attr(name), format!("Invalid {name}"), format!("{name} must be {range}; it is {n}."));
            }
        }
        for name in ["allowed_ip_addresses", "invitation_email_domains"] {
            let Some(Value::List(items)) = config.get(name) else { continue };
            for (i, item) in items.iter().enumerate() {
                if let Value::String(s) = item {
                    if s.trim().is_empty() || s.contains(',') || s.chars().any(char::is_whitespace) {
                        diags.add_attr_error(
                            AttributePath::attr(name).then_index(i as i64),
                            format!("Invalid {name} entry"),
                            format!(
                                "{s:?} must be one non-empty entry without spaces or commas; write each entry as its own list element."
                            ),
                        );
                    }
                }
            }
        }
        diags
    }

    async fn modify_plan(&self, _ctx: &Ctx, plan: &mut Plan) -> Diagnostics {
        // On create, settings the configuration leaves out are not managed: they stay null
        // rather than "known after apply".
        if plan.is_create() {
            for name in SETTINGS {
                if plan.config.get(name).is_none_or(Value::is_null) {
                    plan.planned.set(name, Value::Null);
                }
            }
        }
        Diagnostics::new()
    }

    async fn create(&self, ctx: &Ctx, planned: &Value, config: &Value) -> StateResult {
        // A missing provider is reported first, then a bad config, then a bad plan.
        let opened = provider(ctx).and_then(|s| Ok((s, managed_from_config(config)?, decode::<Model>(planned)?)));
        let (state, wanted, mut model) = match opened {
            Ok(opened) => opened,
            Err(d) => return (None, d),
        };
        let account_id = match state.client.identity().await {
            Ok(id) => id.account_id,
            Err(e) => return (None, api_error("reading the account of the provider", &e)),
        };
        if let Err(e) = write_settings(ctx, &account_id, &wanted).await {
            return (None, api_error(&format!("updating the IAM settings of account {account_id}"), &e));
        }
        model.id = Some(account_id);
        state_from(encode(&model))
    }

    async fn read(&self, ctx: &Ctx, state_value: &Value) -> Result<Option<Value>, Diagnostics> {
        let state = provider(ctx)?;
        let prior: Model = from_value(state_value)?;
        let Some(account_id) = prior.id.clone() else { return Ok(None) };
        let settings = match state.client.get_account_settings(&account_id).await {
            Ok(s) => s,
            // The settings exist as long as the account does.
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(api_error(&format!("reading the IAM settings of account {account_id}"), &e)),
        };
        Ok(Some(encode(&refresh(&prior, &settings))?))
    }

    async fn update(&self, ctx: &Ctx, prior_value: &Value, planned: &Value, config: &Value) -> StateResult {
        let (prior, mut model, wanted) = match (from_value::<Model>(prior_value), from_value::<Model>(planned), managed_from_config(config))
        {
            (Ok(p), Ok(m), Ok(w)) => (p, m, w),
            (_, _, Err(d)) => return (None, d),
            (Err(e), _, _) | (_, Err(e), _) => return (None, e.into()),
        };
        let Some(account_id) = prior.id.clone() else {
            return (None, Diagnostics::error("Account settings have no id", "the state has no account id; import the settings again"));
        };
        if let Err(e) = write_settings(ctx, &account_id, &wanted).await {
            return (None, api_error(&format!("updating the IAM settings of account {account_id}"), &e));
        }
        model.id = Some(account_id);
        state_from(encode(&model))
    }

    async fn delete(&self, _ctx: &Ctx, _prior: &Value) -> Diagnostics {
        // The settings belong to the account and cannot be deleted; they are left as they are.
        Diagnostics::new()
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Value, Diagnostics> {
        let state = provider(ctx)?;
        let own = state.client.identity().await.map_err(|e| api_error("reading the account of the provider", &e))?.account_id;
        if id != own {
            return Err(Diagnostics::error(
                "Wrong account",
                format!("import takes the provider's account ID, {own:?}; {id:?} is another account. Configure the provider for that account to manage its settings."),
            ));
        }
        let settings = state
            .client
            .get_account_settings(id)
            .await
            .map_err(|e| api_error(&format!("importing the IAM settings of account {id}"), &e))?;
        encode(&model_from_settings(&settings, id))
    }
}

/// Writes the managed settings that differ from IBM's, with If-Match from a fresh read; a stale
/// entity tag is re-read and tried once more. Nothing to change → no PUT.
async fn write_settings(ctx: &Ctx, account_id: &str, wanted: &Model) -> Result<(), ibmcloud::Error> {
    let client = &provider(ctx).map_err(|_| ibmcloud::Error::Config("provider not configured".into()))?.client;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let current = client.get_account_settings(account_id).await?;
        let update = changes(wanted, &current);
        if update.is_empty() {
            return Ok(());
        }
        let tag = if current.entity_tag.is_empty() { "*" } else { current.entity_tag.as_str() };
        match client.update_account_settings(account_id, tag, &update).await {
            Ok(_) => return Ok(()),
            // IBM does not document the status of a stale entity tag (UNCERTAIN; likely 409).
            Err(ibmcloud::Error::Api(api)) if (api.status == 409 || api.status == 412) && attempts < 2 => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: serde_json::Value) -> Value {
        Value::from_json(&json, &AccountSettingsResource.schema().value_type()).expect("value")
    }

    fn settings(json: serde_json::Value) -> AccountSettings {
        serde_json::from_value(json).expect("settings")
    }

    #[test]
    fn validate_names_attributes_and_valid_values() {
        let d = AccountSettingsResource.validate(&config(serde_json::json!({
            "user_list_visibility": "hidden", "mfa": "totp", "session_expiration_seconds": 60,
            "allowed_ip_addresses": ["1.2.3.4, 5.6.7.8"]
        })));
        let paths: Vec<String> = d.0.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect();
        assert_eq!(paths, ["user_list_visibility", "mfa", "session_expiration_seconds", "allowed_ip_addresses[0]"]);
        assert!(d.0[0].detail.contains("restricted, unrestricted"));
        let ok = config(serde_json::json!({"user_list_visibility": "restricted", "mfa": "TOTP", "max_sessions_per_identity": 3}));
        assert!(!AccountSettingsResource.validate(&ok).has_errors());
    }

    #[test]
    fn changes_send_only_what_differs() {
        let current = settings(serde_json::json!({
            "entity_tag": "1-a", "restrict_user_list_visibility": "NOT_RESTRICTED", "restrict_create_platform_apikey": "NOT_SET",
            "session_expiration_in_seconds": "86400", "allowed_ip_addresses": "",
            "restrict_user_domains": [{"realm_id": "other", "invitation_email_allow_patterns": ["x"]}]
        }));
        let wanted = Model {
            user_list_visibility: Some("restricted".into()),
            api_key_creation: Some("not_set".into()),
            session_expiration_seconds: Some(86_400),
            allowed_ip_addresses: Some(vec!["10.0.0.0/8".into(), "1.2.3.4".into()]),
            invitation_email_domains: Some(vec!["*@uni.edu".into()]),
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
            id: Some("acc".into()),
            user_list_visibility: Some("unrestricted".into()),
            session_expiration_seconds: Some(3600),
            allowed_ip_addresses: Some(vec![" 1.2.3.4".into(), "5.6.7.8".into()]),
            ..Default::default()
        };
        let fresh = refresh(&prior, &current);
        assert_eq!(fresh.user_list_visibility.as_deref(), Some("restricted"));
        assert_eq!(fresh.mfa, None, "unmanaged stays null");
        assert_eq!(fresh.session_expiration_seconds, None, "NOT_SET reads as null");
        assert_eq!(fresh.allowed_ip_addresses, prior.allowed_ip_addresses);
        let imported = model_from_settings(&current, "acc");
        assert_eq!(imported.mfa.as_deref(), Some("TOTP"));
        assert_eq!(imported.invitation_email_domains, Some(vec![]));
    }
}
