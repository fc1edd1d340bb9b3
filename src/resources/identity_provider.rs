//! `ibmqr_identity_provider`: an IAM identity provider of the account (IAM Identity `/v1/idps/`),
//! App ID (a directory of this provider) or SAML (a campus IdP), with the account's login setting
//! for it (`/v2/loginsettings/{account}/idps/{id}`: onboarding, default for login).
//!
//! Its `realm` is what a dynamic rule's `realm` needs: `appid://REALM_ID` for App ID, the service
//! provider's entity ID for SAML. The realm ID is the IdP's `idp_id` (the SDK calls it so; an
//! `Idp` has no other realm field: UNCERTAIN but strongly indicated).

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

use crate::configured::ProviderState;
use crate::framework::{
    Attribute, AttributePath, Block, Check, Context, Ctx, Diagnostics, ListRequest, ListResource, Listed, NestedBlock, OpError, OpResult,
    Resource, Schema, Tf, Type, Value,
};
use crate::ibmcloud::appid::Tenant;
use crate::ibmcloud::iam_idps::{Idp, IdpBody, IdpLoginSetting};
use crate::ibmcloud::{self, Client};

use super::{is_stale_etag, wait_until_visible, write_with_fresh_etag};

/// How long a new IdP or login setting may take to show up in reads (IBM is eventually consistent).
const VISIBILITY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

pub const TYPE_NAME: &str = "ibmqr_identity_provider";
const TYPES: [&str; 2] = ["appid", "saml"];
const ONBOARDING: [&str; 3] = ["static", "dynamic", "never"];
/// Where federated users log in: `/authorize/ACCOUNT_ID/REALM_ID`.
const LOGIN_BASE: &str = "https://cloud.ibm.com/authorize";

pub struct IdentityProvider;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Saml {
    entity_id: Tf<String>,
    sso_url: Tf<String>,
    signing_certificates: Tf<Vec<Tf<String>>>,
    want_request_signed: Tf<bool>,
    claims: Tf<BTreeMap<String, Tf<String>>>,
    metadata_xml: Tf<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct Model {
    id: Tf<String>,
    idp_id: Tf<String>,
    name: Tf<String>,
    #[serde(rename = "type")]
    kind: Tf<String>,
    active: Tf<bool>,
    appid_directory_id: Tf<String>,
    saml: Option<Saml>,
    onboarding: Tf<String>,
    default_for_login: Tf<bool>,
    realm: Tf<String>,
    login_url: Tf<String>,
    sp_entity_id: Tf<String>,
    sp_metadata: Tf<String>,
}

fn known_strings(list: &Tf<Vec<Tf<String>>>) -> Vec<String> {
    list.known().into_iter().flatten().filter_map(Tf::known).cloned().collect()
}

impl Saml {
    fn uses_metadata(&self) -> bool {
        self.metadata_xml.is_known()
    }

    fn claims(&self) -> BTreeMap<String, String> {
        self.claims.known().into_iter().flatten().filter_map(|(k, v)| v.known().map(|v| (k.clone(), v.clone()))).collect()
    }
}

impl Model {
    fn is_saml(&self) -> bool {
        self.kind.as_deref() == Some("saml")
    }

    /// `properties` as sent: the App ID instance (shape UNCERTAIN: the SDK types only SAML
    /// properties, so the instance is named by CRN, tenant ID and region), or the SAML IdP.
    fn properties(&self) -> Json {
        if let Some(saml) = self.saml.as_ref().filter(|_| self.is_saml()) {
            let mut sp = json!({});
            let claims = saml.claims();
            if !claims.is_empty() {
                sp["claims"] = json!(claims);
            }
            let idp = if saml.uses_metadata() {
                json!({"xml_import": true})
            } else {
                json!({
                    "entity_id": saml.entity_id.known(),
                    "redirect_binding_url": saml.sso_url.known(),
                    "want_request_signed": saml.want_request_signed.known().copied().unwrap_or(false),
                })
            };
            return json!({"idp": idp, "sp": sp});
        }
        let crn = self.appid_directory_id.known().cloned().unwrap_or_default();
        let tenant = Tenant::from_crn(&crn);
        json!({"appid": {"instance_crn": crn, "tenant_id": tenant.as_ref().map(|t| t.id.clone()), "region": tenant.map(|t| t.region)}})
    }

    /// `secrets` as sent (SAML only): the signing certificates, primary then secondary.
    fn secrets(&self) -> Option<Json> {
        let saml = self.saml.as_ref().filter(|_| self.is_saml())?;
        if saml.uses_metadata() {
            return Some(json!({"idp": {"xml_import": true}, "sp": {}}));
        }
        let signing: Vec<Json> = known_strings(&saml.signing_certificates)
            .into_iter()
            .enumerate()
            .map(|(i, pem)| json!({"value": pem, "type": if i == 0 { "primary" } else { "secondary" }}))
            .collect();
        Some(json!({"idp": {"signing": signing}, "sp": {}}))
    }

    fn login_setting(&self) -> IdpLoginSetting {
        IdpLoginSetting {
            cloud_user_strategy: self.onboarding.as_deref().unwrap_or("static").to_uppercase(),
            active: self.active.known().copied().unwrap_or(true),
            ui_default: self.default_for_login.known().copied().unwrap_or(false),
        }
    }

    /// State from the IdP as read. Properties IBM did not return (UNCERTAIN whether GET returns
    /// them) and secrets (never returned) keep their prior values: certificate drift cannot be seen.
    fn with_idp(&self, idp: &Idp) -> Model {
        let mut model = Model {
            id: Tf::Known(idp.idp_id.clone()),
            idp_id: Tf::Known(idp.idp_id.clone()),
            name: Tf::Known(idp.name.clone()),
            kind: Tf::Known(idp.kind.clone()),
            active: Tf::Known(idp.active.unwrap_or(true)),
            login_url: Tf::Known(format!("{LOGIN_BASE}/{}/{}", idp.account_id, idp.idp_id)),
            ..self.clone()
        };
        if idp.kind == "appid" {
            model.realm = Tf::Known(format!("appid://{}", idp.idp_id));
            model.saml = None;
            model.sp_entity_id = Tf::Null;
            model.sp_metadata = Tf::Null;
        }
        let Some(properties) = &idp.properties else { return model };
        if idp.kind == "appid" {
            let nested = properties.get("appid").unwrap_or(properties);
            if let Some(crn) = nested["instance_crn"].as_str().filter(|c| !c.is_empty()) {
                model.appid_directory_id = Tf::Known(crn.to_string());
            }
        } else if idp.kind == "saml" {
            let mut saml = model.saml.clone().unwrap_or_default();
            if !saml.uses_metadata() {
                let text = |p: &str| properties.pointer(p).and_then(Json::as_str).map(str::to_string);
                saml.entity_id = text("/idp/entity_id").into();
                saml.sso_url = text("/idp/redirect_binding_url").into();
                let signed = properties.pointer("/idp/want_request_signed").and_then(Json::as_bool).unwrap_or(false);
                // Unset and false are the same request: the user's form is kept.
                saml.want_request_signed = if !signed && saml.want_request_signed.is_null() { Tf::Null } else { Tf::Known(signed) };
            }
            let claims: BTreeMap<String, Tf<String>> = properties
                .pointer("/sp/claims")
                .and_then(Json::as_object)
                .map(|c| c.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), Tf::Known(v.to_string())))).collect())
                .unwrap_or_default();
            saml.claims = if claims.is_empty() && saml.claims.is_null() { Tf::Null } else { Tf::Known(claims) };
            model.saml = Some(saml);
        }
        model
    }

    fn with_setting(mut self, setting: Option<&IdpLoginSetting>) -> Model {
        match setting {
            Some(s) => {
                self.onboarding = Tf::Known(s.cloud_user_strategy.to_lowercase());
                self.default_for_login = Tf::Known(s.ui_default);
                if !s.active {
                    self.active = Tf::Known(false);
                }
            }
            // No login setting: the plan shows it being added.
            None => {
                self.onboarding = Tf::Null;
                self.default_for_login = Tf::Null;
            }
        }
        self
    }
}

/// The SP entity ID in SP metadata (`EntityDescriptor entityID="…"`).
fn entity_id_of(xml: &str) -> Option<String> {
    let from = xml.find("EntityDescriptor")?;
    let rest = &xml[from..];
    let start = rest.find("entityID=\"")? + "entityID=\"".len();
    let end = rest[start..].find('"')?;
    Some(rest[start..start + end].to_string())
}

async fn with_sp_metadata(client: &Client, mut model: Model, doing: &str) -> OpResult<Model> {
    if !model.is_saml() {
        return Ok(model);
    }
    let id = model.idp_id.require("idp_id")?.clone();
    let xml = client.saml_sp_metadata(&id).await.context(format_args!("{doing}: reading its SP metadata"))?;
    let entity = entity_id_of(&xml);
    model.sp_entity_id = entity.clone().into();
    model.realm = entity.into();
    model.sp_metadata = Tf::Known(xml);
    Ok(model)
}

/// IBM may require the account's login alias before its first IdP (the console asks for one);
/// the error then points to `ibmqr_account_settings.login_alias`.
fn create_error(name: &str, err: ibmcloud::Error) -> OpError {
    let text = err.to_string();
    if text.to_lowercase().contains("alias") {
        return OpError::new(
            "Login alias needed first",
            format!("creating identity provider {name}: IBM requires the account's login alias before an identity provider. Set login_alias in ibmqr_account_settings, and make this identity provider depend on it. ({text})"),
        );
    }
    OpError::new("IBM Cloud request failed", format!("creating identity provider {name}: {text}"))
}

/// Fails with the names of the account's IdPs when it has as many as IBM allows.
async fn check_limit(client: &Client, account_id: &str, doing: &str) -> OpResult<()> {
    let limit = client.idp_limit(account_id).await.context(format_args!("{doing}: reading the account's identity limits"))?;
    if limit.limit <= 0 || limit.count < limit.limit {
        return Ok(());
    }
    let idps = client.list_idps(account_id).await.context(format_args!("{doing}: listing the account's identity providers"))?;
    let names: Vec<String> = idps.iter().map(|i| format!("{:?} ({}, {})", i.name, i.kind, i.idp_id)).collect();
    Err(OpError::new(
        "Identity provider limit reached",
        format!(
            "{doing}: IBM allows {} identity providers per account, and the account has {}: {}. Delete one of them (or import it and reuse it) first.",
            limit.limit,
            idps.len(),
            names.join(", ")
        ),
    ))
}

/// Reads the login setting until it shows what was written.
async fn wait_for_setting(
    ctx: &Ctx<ProviderState>,
    client: &Client,
    account_id: &str,
    idp_id: &str,
    setting: &IdpLoginSetting,
) -> OpResult<()> {
    let what = format!("the login setting of identity provider {idp_id}");
    wait_until_visible(ctx, VISIBILITY_TIMEOUT, &what, || client.get_idp_login_setting(account_id, idp_id), |s| s == setting)
        .await
        .map(|_| ())
}

/// Writes the IdP with If-Match from a fresh read (see [`write_with_fresh_etag`]). IBM never
/// returns the secrets, so a read cannot show the change: a stale tag is always written once more.
async fn update_with_fresh_tag(client: &Client, id: &str, body: &IdpBody, doing: &str) -> OpResult<()> {
    let read = || async { Ok(client.get_idp(id).await?.map(|idp| (idp.clone(), Some(idp.entity_tag)))) };
    let write = |_current, tag: String| async move { client.update_idp(id, &tag, body).await.map(|_| ()) };
    let written = write_with_fresh_etag(read, |_: &Idp| false, write, is_stale_etag).await.context(doing)?;
    written.ok_or_else(|| OpError::new("Identity provider gone", format!("{doing}: it no longer exists; the next plan creates it again.")))
}

#[async_trait]
impl Resource<ProviderState> for IdentityProvider {
    type Model = Model;
    const TYPE_NAME: &'static str = TYPE_NAME;

    fn schema() -> Schema {
        let saml = Block::new("The campus SAML IdP: `entity_id`, `sso_url` and `signing_certificates`, or instead `metadata_xml`.")
            .attr(Attribute::string("entity_id").optional().describe("The IdP's SAML entity ID (issuer)."))
            .attr(Attribute::string("sso_url").optional().check(Check::prefix(&["https://"], "an https URL")).describe("The IdP's single sign-on URL (HTTP-Redirect binding)."))
            .attr(
                Attribute::string_list("signing_certificates")
                    .optional()
                    .check(Check::items(1, Some(2)))
                    .describe("The IdP's signing certificates in PEM: a primary and an optional secondary. IBM does not return them on read, so a change made outside Terraform cannot be seen."),
            )
            .attr(Attribute::bool("want_request_signed").optional().describe("Whether the IdP wants signed authentication requests (default false)."))
            .attr(Attribute::typed("claims", Type::map(Type::String)).optional().describe("Custom mappings from SAML assertion to IAM claim, such as `{ project = \"urn:oid:1.3.6.1.4.1.5923.1.1.1.7\" }`; extra assertions are passed as claims of the same name anyway."))
            .attr(Attribute::string("metadata_xml").optional().describe("The IdP's metadata.xml, instead of the three attributes above."));
        Schema::new(
            0,
            Block::new(
                "An IAM identity provider of the account: an App ID directory (`type = \"appid\"`) or the campus SAML IdP (`type = \"saml\"`), with how the account uses it for login. Its `realm` goes into dynamic rules; its `login_url` is where its users log in. IBM allows 5 per account.",
            )
            .attr(Attribute::string("id").computed().describe("The IdP's ID (`idp_id`)."))
            .attr(Attribute::string("idp_id").computed().describe("The IdP's ID, also its realm ID."))
            .attr(Attribute::string("name").required().check(Check::length(1, 100)).describe("Name shown on the login page."))
            .attr(Attribute::string("type").required().force_new().check(Check::one_of(&TYPES)).describe("`appid` or `saml`."))
            .attr(Attribute::bool("active").default(Value::Bool(true)).describe("Whether the IdP is enabled (IBM's `Idp.active`) for login in the account."))
            .attr(Attribute::string("appid_directory_id").optional().check(Check::prefix(&["crn:v1:"], "an App ID instance CRN")).describe("For `appid`: the directory's CRN (`ibmqr_appid_directory.NAME.id`)."))
            .attr(Attribute::string("onboarding").default(Value::string("static")).check(Check::one_of(&ONBOARDING)).describe(
                "How users become account members: `static` (IAM's default: added at their first login), `dynamic` (added when they log in without choosing a trusted profile) or `never` (never added: trusted profiles only). IBM's own descriptions of `static` and `dynamic` differ; see the notes.",
            ))
            .attr(Attribute::bool("default_for_login").default(Value::Bool(false)).describe("Whether this IdP is the account's default login (one per account)."))
            .attr(Attribute::string("realm").computed().describe("What a dynamic rule's `realm` needs: `appid://REALM_ID` for App ID, the SP entity ID for SAML."))
            .attr(Attribute::string("login_url").computed().describe("Where this IdP's users log in: `https://cloud.ibm.com/authorize/ACCOUNT_ID/REALM_ID`."))
            .attr(Attribute::string("sp_entity_id").computed().describe("For `saml`: IBM Cloud's service provider entity ID."))
            .attr(Attribute::string("sp_metadata").computed().describe("For `saml`: the SP metadata XML that the campus IdP's admin uploads."))
            .block(NestedBlock::single("saml", saml)),
        )
    }

    fn validate(&self, config: &Model) -> Diagnostics {
        let mut d = Diagnostics::new();
        match config.kind.as_deref() {
            Some("appid") => {
                if config.appid_directory_id.is_null() {
                    d.add_attr_error(
                        AttributePath::attr("appid_directory_id"),
                        "Missing App ID directory",
                        "an appid identity provider needs appid_directory_id, such as ibmqr_appid_directory.campus.id.",
                    );
                }
                if config.saml.is_some() {
                    d.add_attr_error(
                        AttributePath::attr("saml"),
                        "SAML settings on an App ID identity provider",
                        "remove the saml block, or set type = \"saml\".",
                    );
                }
            }
            Some("saml") => {
                if !config.appid_directory_id.is_null() {
                    d.add_attr_error(
                        AttributePath::attr("appid_directory_id"),
                        "App ID directory on a SAML identity provider",
                        "remove appid_directory_id, or set type = \"appid\".",
                    );
                }
                let Some(saml) = &config.saml else {
                    d.add_attr_error(
                        AttributePath::attr("saml"),
                        "Missing saml block",
                        "a saml identity provider needs a saml block with entity_id, sso_url and signing_certificates, or metadata_xml.",
                    );
                    return d;
                };
                let at = |name: &str| AttributePath::attr("saml").then_attr(name);
                if saml.metadata_xml.is_null() {
                    for (name, missing) in [
                        ("entity_id", saml.entity_id.is_null()),
                        ("sso_url", saml.sso_url.is_null()),
                        ("signing_certificates", saml.signing_certificates.is_null()),
                    ] {
                        if missing {
                            d.add_attr_error(
                                at(name),
                                "Missing SAML setting",
                                format!("set saml.{name}, or give the IdP's metadata_xml instead."),
                            );
                        }
                    }
                } else {
                    for (name, set) in [
                        ("entity_id", !saml.entity_id.is_null()),
                        ("sso_url", !saml.sso_url.is_null()),
                        ("signing_certificates", !saml.signing_certificates.is_null()),
                    ] {
                        if set {
                            d.add_attr_error(
                                at(name),
                                "Conflicting SAML settings",
                                format!("saml.{name} comes from metadata_xml; set one or the other."),
                            );
                        }
                    }
                }
            }
            _ => {}
        }
        d
    }

    async fn create(&self, ctx: &Ctx<ProviderState>, planned: Model, _config: Model) -> OpResult<Model> {
        let client = &ctx.provider()?.client;
        let name = planned.name.require("name")?.clone();
        let doing = format!("creating identity provider {name}");
        let account_id = client.identity().await.context(&doing)?.account_id;
        check_limit(client, &account_id, &doing).await?;
        let body = IdpBody {
            account_id: Some(account_id.clone()),
            name: Some(name.clone()),
            kind: planned.kind.known().cloned(),
            active: planned.active.known().copied(),
            properties: Some(planned.properties()),
            secrets: planned.secrets(),
        };
        let created = client.create_idp(&body).await.map_err(|e| create_error(&name, e))?;
        let mut model = planned.with_idp(&created).with_setting(None);
        ctx.save(&model);
        if let Some(xml) = planned.saml.as_ref().and_then(|s| s.metadata_xml.known()) {
            client.import_saml_metadata(&created.idp_id, xml).await.context(format_args!("{doing}: uploading the IdP's metadata"))?;
        }
        let idp_id = created.idp_id.clone();
        wait_until_visible(ctx, VISIBILITY_TIMEOUT, &format!("identity provider {idp_id}"), || client.get_idp(&idp_id), |_| true).await?;
        let setting = planned.login_setting();
        client
            .put_idp_login_setting(&account_id, &created.idp_id, &setting, false)
            .await
            .context(format_args!("{doing}: enabling it for login"))?;
        wait_for_setting(ctx, client, &account_id, &idp_id, &setting).await?;
        model = model.with_setting(Some(&setting));
        model.active = planned.active.clone();
        model.saml = planned.saml.clone();
        ctx.save(&model);
        with_sp_metadata(client, model, &doing).await
    }

    async fn read(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<Option<Model>> {
        let Some(id) = prior.id.known().cloned() else { return Ok(None) };
        let client = &ctx.provider()?.client;
        let doing = format!("reading identity provider {}", prior.name.as_deref().unwrap_or(&id));
        let Some(idp) = client.get_idp(&id).await.context(&doing)? else { return Ok(None) };
        let setting = client.get_idp_login_setting(&idp.account_id, &id).await.context(&doing)?;
        let model = prior.with_idp(&idp).with_setting(setting.as_ref());
        // The SP metadata does not change over the IdP's life: read once (create, import).
        if model.is_saml() && model.sp_metadata.is_null() {
            return with_sp_metadata(client, model, &doing).await.map(Some);
        }
        Ok(Some(model))
    }

    async fn update(&self, ctx: &Ctx<ProviderState>, prior: Model, planned: Model, _config: Model) -> OpResult<Model> {
        let client = &ctx.provider()?.client;
        let id = prior.id.require("id")?.clone();
        let name = planned.name.require("name")?.clone();
        let doing = format!("updating identity provider {name}");
        let certificates = |m: &Model| m.saml.as_ref().map(|s| known_strings(&s.signing_certificates));
        let metadata = |m: &Model| m.saml.as_ref().and_then(|s| s.metadata_xml.known().cloned());
        let idp_changed = planned.name != prior.name
            || planned.active != prior.active
            || planned.properties() != prior.properties()
            || certificates(&planned) != certificates(&prior);
        if idp_changed {
            let body = IdpBody {
                name: Some(name.clone()),
                active: planned.active.known().copied(),
                properties: Some(planned.properties()),
                // Secrets are sent only when they change (IBM never returns them).
                secrets: if certificates(&planned) != certificates(&prior) { planned.secrets() } else { None },
                ..Default::default()
            };
            update_with_fresh_tag(client, &id, &body, &doing).await?;
        }
        if let Some(xml) = metadata(&planned).filter(|xml| Some(xml) != metadata(&prior).as_ref()) {
            client.import_saml_metadata(&id, &xml).await.context(format_args!("{doing}: uploading the IdP's metadata"))?;
        }
        let setting = planned.login_setting();
        let had = prior.onboarding.is_known();
        if !had || setting != prior.login_setting() {
            let account_id = client.identity().await.context(&doing)?.account_id;
            client
                .put_idp_login_setting(&account_id, &id, &setting, had)
                .await
                .context(format_args!("{doing}: changing its login setting"))?;
            wait_for_setting(ctx, client, &account_id, &id, &setting).await?;
        }
        Ok(Model {
            realm: prior.realm.clone(),
            login_url: prior.login_url.clone(),
            sp_entity_id: prior.sp_entity_id.clone(),
            sp_metadata: prior.sp_metadata.clone(),
            id: prior.id.clone(),
            idp_id: prior.idp_id.clone(),
            ..planned
        })
    }

    async fn delete(&self, ctx: &Ctx<ProviderState>, prior: Model) -> OpResult<()> {
        let Some(id) = prior.id.known().cloned() else { return Ok(()) };
        // The account's login setting goes with the IdP.
        ctx.provider()?
            .client
            .delete_idp(&id)
            .await
            .context(format_args!("deleting identity provider {}", prior.name.as_deref().unwrap_or(&id)))
    }

    fn import_not_found(&self, id: &str) -> OpError {
        OpError::new("Identity provider not found", format!("the account has no identity provider with the idp_id {id:?}. Import takes the idp_id (the realm ID shown on IAM → Identity providers)."))
    }
}

/// `list "ibmqr_identity_provider"` has no filters.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ListFilter {}

#[async_trait]
impl ListResource<ProviderState> for IdentityProvider {
    type Filter = ListFilter;

    fn list_schema() -> Schema {
        Schema::new(
            0,
            Block::new("The account's identity providers (App ID and SAML). IBM never returns a SAML provider's certificates, so its generated configuration lacks them: add them before applying."),
        )
    }

    async fn list(&self, ctx: &Ctx<ProviderState>, request: ListRequest<ListFilter>) -> OpResult<Vec<Listed<Model>>> {
        let client = &ctx.provider()?.client;
        let account_id = client.identity().await.context("listing the account's identity providers")?.account_id;
        let mut idps = client.list_idps(&account_id).await.context("listing the account's identity providers")?;
        idps.sort_by(|a, b| (&a.name, &a.idp_id).cmp(&(&b.name, &b.idp_id)));
        idps.truncate(request.limit);
        let mut listed = Vec::with_capacity(idps.len());
        for idp in idps {
            // Read as an import reads it: the login setting and SP metadata need their own requests.
            let stub = Model { id: Tf::Known(idp.idp_id.clone()), ..Default::default() };
            if let Some(state) = self.read(ctx, stub).await? {
                listed.push(Listed { display_name: idp.name.clone(), state });
            }
        }
        Ok(listed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::resource;

    #[test]
    fn validate_names_the_attribute() {
        let idp = resource::<ProviderState, _>(IdentityProvider);
        let config = |json| Value::from_json(&json, idp.value_type()).expect("value");
        let paths = |json| -> Vec<String> {
            idp.validate(&config(json)).0.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect()
        };
        assert_eq!(paths(json!({"name": "x", "type": "appid"})), ["appid_directory_id"]);
        assert_eq!(paths(json!({"name": "x", "type": "saml", "saml": {"entity_id": "e"}})), ["saml.sso_url", "saml.signing_certificates"]);
        assert_eq!(paths(json!({"name": "x", "type": "saml", "saml": {"metadata_xml": "<x/>", "entity_id": "e"}})), ["saml.entity_id"]);
        assert!(paths(json!({"name": "x", "type": "appid", "appid_directory_id": "crn:v1:x"})).is_empty());
    }

    #[test]
    fn realm_of_saml_is_the_sp_entity_id() {
        let xml = "<md:EntityDescriptor xmlns:md=\"m\" entityID=\"crn:v1:bluemix:public:iam-identity::a/acc::idp:R1\">";
        assert_eq!(entity_id_of(xml).as_deref(), Some("crn:v1:bluemix:public:iam-identity::a/acc::idp:R1"));
    }
}
