//! IAM Identity — identity providers (`/v1/idps/`), the account's login settings
//! (`/v2/loginsettings/{account_id}`, its alias, and `…/idps/{idp_id}`, how an IdP is used for
//! login) and the account's identity limits (`/v1/accounts/{account_id}/limits/identity`).
//!
//! Updates of an IdP are a PUT with `If-Match: entity_tag`. Create answers 201 and delete 204 in
//! IBM's integration tests but 200 in the SDK's mocks (UNCERTAIN): any 2xx is success.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{path_segment, Api, Client, Error, Method, Uniqueness};

/// An identity provider (`Idp`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Idp {
    #[serde(default)]
    pub idp_id: String,
    #[serde(default)]
    pub entity_tag: String,
    #[serde(default)]
    pub account_id: String,
    #[serde(default)]
    pub name: String,
    /// `saml`, `appid` or `ldap`.
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub active: Option<bool>,
    /// Not always returned on GET (UNCERTAIN): None then.
    #[serde(default)]
    pub properties: Option<Value>,
}

/// The body of a create (all fields) or an update (what changes).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IdpBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets: Option<Value>,
}

/// How the account uses an IdP for login (`AccountIdpSettings`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdpLoginSetting {
    /// `STATIC`, `DYNAMIC` or `NEVER`.
    #[serde(default)]
    pub cloud_user_strategy: String,
    #[serde(default)]
    pub active: bool,
    #[serde(default)]
    pub ui_default: bool,
}

/// An identity limit and its use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct LimitCount {
    #[serde(default)]
    pub limit: i64,
    #[serde(default)]
    pub count: i64,
}

fn idp_path(idp_id: &str) -> String {
    format!("/v1/idps/{}", path_segment(idp_id))
}

fn idp_setting_path(account_id: &str, idp_id: &str) -> String {
    format!("/v2/loginsettings/{}/idps/{}", path_segment(account_id), path_segment(idp_id))
}

impl Client {
    pub async fn list_idps(&self, account_id: &str) -> Result<Vec<Idp>, Error> {
        let page = self.request(Api::Iam, Method::GET, "/v1/idps/").query("account_id", account_id).send().await?;
        serde_json::from_value(page.body["idps"].clone()).map_err(|e| Error::Decode(format!("identity providers: {e}")))
    }

    /// Creates an IdP. A lost answer is looked up by name and type in the account's list, so that
    /// a retry never makes a second one.
    pub async fn create_idp(&self, body: &IdpBody) -> Result<Idp, Error> {
        let account_id = body.account_id.clone().unwrap_or_default();
        let build = || self.request(Api::Iam, Method::POST, "/v1/idps/").json(body);
        let lookup = || async {
            let found = self
                .list_idps(&account_id)
                .await?
                .into_iter()
                .find(|i| Some(&i.name) == body.name.as_ref() && Some(&i.kind) == body.kind.as_ref());
            let Some(found) = found else { return Ok(None) };
            Ok(Some(self.request(Api::Iam, Method::GET, idp_path(&found.idp_id)).send().await?))
        };
        // Whether IBM refuses a second IdP of the same name is UNCERTAIN: the look waits out the lag.
        self.create_with_lookup(build, lookup, Uniqueness::NotEnforced, |_| true).await?.json()
    }

    /// None: no such IdP.
    pub async fn get_idp(&self, idp_id: &str) -> Result<Option<Idp>, Error> {
        match self.request(Api::Iam, Method::GET, idp_path(idp_id)).send().await {
            Ok(r) => {
                let mut idp: Idp = r.json()?;
                // The version to send back is the body's entity_tag, else the ETag header.
                if idp.entity_tag.is_empty() {
                    idp.entity_tag = r.etag.unwrap_or_default().trim_matches('"').to_string();
                }
                Ok(Some(idp))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn update_idp(&self, idp_id: &str, entity_tag: &str, body: &IdpBody) -> Result<Idp, Error> {
        let tag = if entity_tag.is_empty() { "*" } else { entity_tag };
        self.request(Api::Iam, Method::PUT, idp_path(idp_id)).if_match(tag).json(body).send().await?.json()
    }

    /// Already gone counts as deleted.
    pub async fn delete_idp(&self, idp_id: &str) -> Result<(), Error> {
        self.request(Api::Iam, Method::DELETE, idp_path(idp_id)).send_absent_ok().await
    }

    /// The SP metadata XML of a SAML IdP, what the campus IdP's admin uploads.
    pub async fn saml_sp_metadata(&self, idp_id: &str) -> Result<String, Error> {
        let path = format!("{}/saml/metadata", idp_path(idp_id));
        let response = self.request(Api::Iam, Method::GET, path).header("Accept", "text/xml").send_text().await?;
        Ok(response)
    }

    /// Configures a SAML IdP from the campus IdP's metadata.xml.
    pub async fn import_saml_metadata(&self, idp_id: &str, xml: &str) -> Result<(), Error> {
        let path = format!("{}/saml/metadata", idp_path(idp_id));
        self.request(Api::Iam, Method::PUT, path).text_body("text/xml", xml).send().await.map(|_| ())
    }

    /// The account's login alias (empty when none).
    pub async fn get_login_alias(&self, account_id: &str) -> Result<String, Error> {
        let r = self.request(Api::Iam, Method::GET, format!("/v2/loginsettings/{}", path_segment(account_id))).send().await?;
        Ok(r.body["alias"].as_str().unwrap_or_default().to_string())
    }

    pub async fn set_login_alias(&self, account_id: &str, alias: &str) -> Result<(), Error> {
        let mut body = Map::new();
        body.insert("alias".into(), Value::String(alias.to_string()));
        self.request(Api::Iam, Method::PUT, format!("/v2/loginsettings/{}", path_segment(account_id))).json(&body).send().await.map(|_| ())
    }

    /// None: the account has no login setting for this IdP.
    pub async fn get_idp_login_setting(&self, account_id: &str, idp_id: &str) -> Result<Option<IdpLoginSetting>, Error> {
        match self.request(Api::Iam, Method::GET, idp_setting_path(account_id, idp_id)).send().await {
            Ok(r) => Ok(Some(r.json()?)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Adds the setting, or replaces it when it exists (POST then PUT on a conflict).
    pub async fn put_idp_login_setting(
        &self,
        account_id: &str,
        idp_id: &str,
        setting: &IdpLoginSetting,
        exists: bool,
    ) -> Result<(), Error> {
        let path = idp_setting_path(account_id, idp_id);
        if !exists {
            match self.request(Api::Iam, Method::POST, &path).json(setting).send().await {
                Err(Error::Api(api)) if api.status == 409 => {}
                other => return other.map(|_| ()),
            }
        }
        self.request(Api::Iam, Method::PUT, &path).json(setting).send().await.map(|_| ())
    }

    /// The account's IdP limit and use.
    pub async fn idp_limit(&self, account_id: &str) -> Result<LimitCount, Error> {
        let path = format!("/v1/accounts/{}/limits/identity", path_segment(account_id));
        let r = self.request(Api::Iam, Method::GET, path).query("idps", "true").send().await?;
        serde_json::from_value(r.body["idps"].clone()).map_err(|e| Error::Decode(format!("identity limits: {e}")))
    }
}
