//! App ID management API v4, `https://{region}.appid.cloud.ibm.com/management/v4/{tenant_id}/…`.
//!
//! App ID is regional: an instance answers only at its own region's host (elsewhere IBM says a
//! bare 404), so every call names the [`Tenant`]: the instance GUID and the region its CRN
//! carries. Configurations (`/config/idps/…`, `/config/tokens`) are PUT whole, so they are read,
//! changed and written as JSON, keeping what the caller does not manage.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{path_segment, Api, Client, Error, Method, RequestBuilder, Uniqueness};

/// Catalog ID of the App ID service, the `resource_id` of its instances (UNCERTAIN: no source
/// gives it; also accepted: any instance whose CRN names service `appid`).
pub const APPID_RESOURCE_ID: &str = "AdvancedMobileAccess-d6aece47-d840-45b0-8ab9-ad15354deeea";
/// App ID plans and their catalog IDs (UNCERTAIN, as above).
pub const APPID_PLANS: [(&str, &str); 2] = [
    ("lite", "appid-lite-8d5e8cf2-24d0-4e1b-8b3a-7a8f5c2d9e01"),
    ("graduated-tier", "appid-graduated-tier-3f0b7d51-6c2a-4e5f-9b1d-2c7e8a4f6b02"),
];
/// Regions App ID runs in.
pub const APPID_REGIONS: [&str; 9] = ["us-south", "us-east", "eu-de", "eu-gb", "jp-osa", "jp-tok", "au-syd", "br-sao", "ca-tor"];

/// An App ID instance as the management API knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// The instance's GUID.
    pub id: String,
    pub region: String,
}

impl Tenant {
    /// From an App ID instance CRN: `crn:v1:bluemix:public:appid:REGION:a/ACCOUNT:GUID::`.
    pub fn from_crn(crn: &str) -> Option<Tenant> {
        let parts: Vec<&str> = crn.split(':').collect();
        if parts.len() < 8 || parts[0] != "crn" || parts[4] != "appid" || parts[5].is_empty() || parts[7].is_empty() {
            return None;
        }
        Some(Tenant { id: parts[7].to_string(), region: parts[5].to_string() })
    }
}

/// A password: printed as `***`, so it cannot leak through `{:?}` or `{}`.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    pub fn new(text: impl Into<String>) -> Password {
        Password(text.into())
    }

    /// A random password of 24 letters and digits with a mark, never shown to anyone: the person
    /// sets their own through the directory's reset flow.
    pub fn random() -> Password {
        use rand::distr::{Alphanumeric, SampleString};
        let text = Alphanumeric.sample_string(&mut rand::rng(), 24);
        Password(format!("{text}-Aa1"))
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    pub value: String,
    #[serde(default)]
    pub primary: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonName {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
}

/// A Cloud Directory user (`GetUser`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudDirectoryUser {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub emails: Vec<Email>,
    #[serde(default)]
    pub name: Option<PersonName>,
}

impl CloudDirectoryUser {
    pub fn primary_email(&self) -> Option<&str> {
        self.emails.iter().find(|e| e.primary).or(self.emails.first()).map(|e| e.value.as_str())
    }
}

/// The body of a sign-up or an update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudDirectoryUserBody {
    pub emails: Vec<Email>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Password>,
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<PersonName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// `GET /cloud_directory/{id}/userinfo`: the profile ID (`sub`) and its attributes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct UserInfo {
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub attributes: Option<serde_json::Map<String, Value>>,
}

/// The social IdPs App ID turns on by default.
pub const SOCIAL_IDPS: [&str; 2] = ["facebook", "google"];

impl Client {
    /// The management URL of an instance.
    pub fn appid_management_url(&self, tenant: &Tenant) -> String {
        format!("{}/management/v4/{}", self.inner.cfg.endpoints.appid_base(&tenant.region), tenant.id)
    }

    fn appid(&self, tenant: &Tenant, method: Method, path: &str) -> RequestBuilder {
        self.request(Api::AppId, method, format!("/management/v4/{}{path}", path_segment(&tenant.id)))
            .at_base(self.inner.cfg.endpoints.appid_base(&tenant.region))
    }

    /// `GET /config/idps/{idp}` (`cloud_directory`, `facebook`, `google`); None: no such tenant.
    pub async fn get_appid_idp(&self, tenant: &Tenant, idp: &str) -> Result<Option<Value>, Error> {
        absent_if_not_found(self.appid(tenant, Method::GET, &format!("/config/idps/{}", path_segment(idp))).send().await)
    }

    pub async fn put_appid_idp(&self, tenant: &Tenant, idp: &str, config: &Value) -> Result<Value, Error> {
        Ok(self.appid(tenant, Method::PUT, &format!("/config/idps/{}", path_segment(idp))).json(config).send().await?.body)
    }

    /// `GET /config/tokens`; None: no such tenant.
    pub async fn get_token_config(&self, tenant: &Tenant) -> Result<Option<Value>, Error> {
        absent_if_not_found(self.appid(tenant, Method::GET, "/config/tokens").send().await)
    }

    /// Replaces the whole token configuration (objects left out return to their defaults).
    pub async fn put_token_config(&self, tenant: &Tenant, config: &Value) -> Result<Value, Error> {
        Ok(self.appid(tenant, Method::PUT, "/config/tokens").json(config).send().await?.body)
    }

    /// Signs a user up, with a profile (so that attributes can be set at once).
    pub async fn sign_up(&self, tenant: &Tenant, user: &CloudDirectoryUserBody) -> Result<CloudDirectoryUser, Error> {
        let tenant_id = tenant.id.clone();
        let email = user.emails.first().map(|e| e.value.clone()).unwrap_or_default();
        let built = || self.appid(tenant, Method::POST, "/cloud_directory/sign_up").query("shouldCreateProfile", "true").json(user);
        // A create whose answer was lost: look the e-mail up before signing up again.
        let lookup = || {
            let email = email.clone();
            let tenant = Tenant { id: tenant_id.clone(), region: tenant.region.clone() };
            async move {
                let found = self.find_cloud_directory_user(&tenant, &email).await?;
                Ok(found.map(|u| super::ApiResponse { status: 201, etag: None, body: json!({"id": u.id}), headers: Default::default() }))
            }
        };
        // A second user with the same e-mail is refused (409 `uniqueness`).
        let created: CloudDirectoryUser = self.create_with_lookup(built, lookup, Uniqueness::Enforced, |_| true).await?.json()?;
        if created.emails.is_empty() {
            // Found by the lookup: read the whole user.
            return self
                .get_cloud_directory_user(tenant, &created.id)
                .await?
                .ok_or_else(|| Error::Decode("the signed-up user vanished".into()));
        }
        Ok(created)
    }

    pub async fn get_cloud_directory_user(&self, tenant: &Tenant, id: &str) -> Result<Option<CloudDirectoryUser>, Error> {
        let found =
            absent_if_not_found(self.appid(tenant, Method::GET, &format!("/cloud_directory/Users/{}", path_segment(id))).send().await)?;
        found.map(|body| serde_json::from_value(body).map_err(|e| Error::Decode(format!("Cloud Directory user: {e}")))).transpose()
    }

    /// Every Cloud Directory user of the directory: SCIM pages of 100 (`startIndex`, `count`)
    /// until `totalResults` are read or a page comes back empty.
    pub async fn list_cloud_directory_users(&self, tenant: &Tenant) -> Result<Vec<CloudDirectoryUser>, Error> {
        const PAGE: usize = 100;
        let mut users: Vec<CloudDirectoryUser> = Vec::new();
        loop {
            let start = users.len().to_string();
            let page =
                self.appid(tenant, Method::GET, "/cloud_directory/Users").query("startIndex", &start).query("count", "100").send().await?;
            let batch: Vec<CloudDirectoryUser> =
                serde_json::from_value(page.body["Resources"].clone()).map_err(|e| Error::Decode(format!("Cloud Directory users: {e}")))?;
            let total = page.body["totalResults"].as_u64().and_then(|t| usize::try_from(t).ok()).unwrap_or(0);
            let last = batch.len() < PAGE;
            users.extend(batch);
            if last || users.len() >= total {
                return Ok(users);
            }
        }
    }

    /// The user whose identity (e-mail or user name) is `identity`.
    pub async fn find_cloud_directory_user(&self, tenant: &Tenant, identity: &str) -> Result<Option<CloudDirectoryUser>, Error> {
        let page = self.appid(tenant, Method::GET, "/cloud_directory/Users").query("query", identity).query("count", "100").send().await?;
        let users: Vec<CloudDirectoryUser> = serde_json::from_value(page.body["Resources"].clone()).unwrap_or_default();
        Ok(users.into_iter().find(|u| {
            u.primary_email().is_some_and(|e| e.eq_ignore_ascii_case(identity))
                || u.user_name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(identity))
        }))
    }

    /// Replaces the user's fields (the e-mails are required; a password only when set).
    pub async fn update_cloud_directory_user(
        &self,
        tenant: &Tenant,
        id: &str,
        user: &CloudDirectoryUserBody,
    ) -> Result<CloudDirectoryUser, Error> {
        self.appid(tenant, Method::PUT, &format!("/cloud_directory/Users/{}", path_segment(id))).json(user).send().await?.json()
    }

    /// Removes the user and their profile; already gone counts as done.
    pub async fn remove_cloud_directory_user(&self, tenant: &Tenant, id: &str) -> Result<(), Error> {
        self.appid(tenant, Method::DELETE, &format!("/cloud_directory/remove/{}", path_segment(id))).send_absent_ok().await
    }

    pub async fn change_password(&self, tenant: &Tenant, id: &str, password: &Password) -> Result<(), Error> {
        let body = json!({"newPassword": password, "uuid": id});
        self.appid(tenant, Method::POST, "/cloud_directory/change_password").json(&body).send().await.map(|_| ())
    }

    pub async fn user_info(&self, tenant: &Tenant, id: &str) -> Result<Option<UserInfo>, Error> {
        let found =
            absent_if_not_found(self.appid(tenant, Method::GET, &format!("/cloud_directory/{}/userinfo", path_segment(id))).send().await)?;
        found.map(|body| serde_json::from_value(body).map_err(|e| Error::Decode(format!("user info: {e}")))).transpose()
    }

    /// The profile's custom attributes; None: no such profile.
    pub async fn get_profile_attributes(&self, tenant: &Tenant, profile_id: &str) -> Result<Option<serde_json::Map<String, Value>>, Error> {
        let found =
            absent_if_not_found(self.appid(tenant, Method::GET, &format!("/users/{}/profile", path_segment(profile_id))).send().await)?;
        Ok(found.map(|body| body["attributes"].as_object().cloned().unwrap_or_default()))
    }

    /// Writes the profile's attributes whole (the SDK's `{"attributes"}` form; whether IBM merges
    /// or replaces is UNCERTAIN, so callers always send every attribute).
    pub async fn put_profile_attributes(
        &self,
        tenant: &Tenant,
        profile_id: &str,
        attributes: &serde_json::Map<String, Value>,
    ) -> Result<(), Error> {
        let body = json!({ "attributes": attributes });
        self.appid(tenant, Method::PUT, &format!("/users/{}/profile", path_segment(profile_id))).json(&body).send().await.map(|_| ())
    }
}

fn absent_if_not_found(result: Result<super::ApiResponse, Error>) -> Result<Option<Value>, Error> {
    match result {
        Ok(r) => Ok(Some(r.body)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_and_region_come_from_the_crn() {
        let t = Tenant::from_crn("crn:v1:bluemix:public:appid:eu-de:a/acc:1234-abcd::").expect("tenant");
        assert_eq!(t, Tenant { id: "1234-abcd".into(), region: "eu-de".into() });
        assert_eq!(Tenant::from_crn("crn:v1:bluemix:public:quantum-computing:us-east:a/acc:g::"), None);
        assert_eq!(Tenant::from_crn("not a crn"), None);
    }

    #[test]
    fn passwords_never_print() {
        let p = Password::random();
        assert_eq!(format!("{p:?}"), "***");
        let body = CloudDirectoryUserBody { password: Some(p), ..Default::default() };
        assert!(!format!("{body:?}").contains("-Aa1"));
        assert!(serde_json::to_string(&body).unwrap().contains("-Aa1"), "sent to IBM as text");
    }
}
