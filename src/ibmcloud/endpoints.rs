//! Base URLs of the IBM Cloud APIs, resolved from the provider's `endpoints` block, environment
//! variables, `IBMQR_ENDPOINT` (one URL for everything, as the emulator serves) and IBM's defaults.
//!
//! Every request path is absolute from the host (`/identity/token`, `/v2/roles`, `/api/v1/...`),
//! so a base URL is scheme + host (+ optional prefix), with no trailing slash.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use super::Api;

/// Environment variable that points every API at one base URL.
pub const UNIFORM_ENV: &str = "IBMQR_ENDPOINT";

impl Api {
    pub const ALL: [Api; 9] = [
        Api::Iam,
        Api::IamPolicy,
        Api::ResourceController,
        Api::ResourceManager,
        Api::UserManagement,
        Api::GlobalCatalog,
        Api::Tagging,
        Api::AppId,
        Api::AccountManagement,
    ];

    /// Key in the provider's `endpoints` block.
    pub fn key(self) -> &'static str {
        match self {
            Api::Iam => "iam",
            Api::IamPolicy => "iam_policy",
            Api::ResourceController => "resource_controller",
            Api::ResourceManager => "resource_manager",
            Api::UserManagement => "user_management",
            Api::GlobalCatalog => "global_catalog",
            Api::Tagging => "tagging",
            Api::AppId => "appid",
            Api::AccountManagement => "account_management",
        }
    }

    /// The environment variable terraform-provider-ibm reads for this API.
    pub fn env_var(self) -> &'static str {
        match self {
            Api::Iam => "IBMCLOUD_IAM_API_ENDPOINT",
            Api::IamPolicy => "IBMCLOUD_IAMPAP_API_ENDPOINT",
            Api::ResourceController => "IBMCLOUD_RESOURCE_CONTROLLER_API_ENDPOINT",
            Api::ResourceManager => "IBMCLOUD_RESOURCE_MANAGEMENT_API_ENDPOINT",
            Api::UserManagement => "IBMCLOUD_USER_MANAGEMENT_ENDPOINT",
            Api::GlobalCatalog => "IBMCLOUD_RESOURCE_CATALOG_API_ENDPOINT",
            Api::Tagging => "IBMCLOUD_GT_API_ENDPOINT",
            Api::AppId => "IBMCLOUD_APPID_MANAGEMENT_API_ENDPOINT",
            Api::AccountManagement => "IBMCLOUD_ACCOUNT_MANAGEMENT_API_ENDPOINT",
        }
    }

    fn public_default(self, region: &str) -> String {
        match self {
            Api::Iam | Api::IamPolicy => "https://iam.cloud.ibm.com".into(),
            Api::ResourceController | Api::ResourceManager => "https://resource-controller.cloud.ibm.com".into(),
            Api::UserManagement => "https://user-management.cloud.ibm.com".into(),
            Api::GlobalCatalog => "https://globalcatalog.cloud.ibm.com".into(),
            Api::Tagging => "https://tags.global-search-tagging.cloud.ibm.com".into(),
            Api::AppId => format!("https://{region}.appid.cloud.ibm.com"),
            Api::AccountManagement => "https://accounts.cloud.ibm.com".into(),
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// An endpoint that cannot be used; `key` is the `endpoints` block key it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointError {
    pub key: String,
    pub message: String,
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "endpoint {:?}: {}", self.key, self.message)
    }
}

impl std::error::Error for EndpointError {}

impl From<EndpointError> for super::Error {
    fn from(e: EndpointError) -> Self {
        super::Error::Config(e.to_string())
    }
}

/// One validated base URL per API (no trailing slash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    bases: [String; Api::ALL.len()],
    /// The App ID base was set explicitly (endpoints block, environment, `IBMQR_ENDPOINT`), so it
    /// serves every region; otherwise each App ID instance is reached in its own region.
    appid_fixed: bool,
}

impl Endpoints {
    /// Resolves every API's base URL. Precedence: `overrides` (the provider's `endpoints` block),
    /// then the API's own environment variable, then `IBMQR_ENDPOINT`, then IBM's public endpoint.
    /// Empty values count as unset.
    pub fn resolve(
        overrides: &BTreeMap<String, String>,
        env: &dyn Fn(&str) -> Option<String>,
        region: &str,
    ) -> Result<Endpoints, EndpointError> {
        if let Some(unknown) = overrides.keys().find(|k| !Api::ALL.iter().any(|a| a.key() == k.as_str())) {
            let known: Vec<&str> = Api::ALL.iter().map(|a| a.key()).collect();
            return Err(EndpointError {
                key: unknown.clone(),
                message: format!("unknown endpoint key; known keys are {}", known.join(", ")),
            });
        }
        let non_empty = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let uniform = non_empty(env(UNIFORM_ENV));
        let mut bases: [String; Api::ALL.len()] = Default::default();
        let mut appid_fixed = false;
        for (i, api) in Api::ALL.iter().enumerate() {
            let chosen = non_empty(overrides.get(api.key()).cloned()).or_else(|| non_empty(env(api.env_var()))).or_else(|| uniform.clone());
            if *api == Api::AppId {
                appid_fixed = chosen.is_some();
            }
            let url = match chosen {
                Some(u) => u,
                None => {
                    if *api == Api::AppId && !is_valid_region(region) {
                        return Err(EndpointError {
                            key: api.key().into(),
                            message: format!(
                                "region {region:?} cannot form the App ID endpoint; set a region like \"us-east\" or an explicit appid endpoint"
                            ),
                        });
                    }
                    api.public_default(region)
                }
            };
            bases[i] = validate(api.key(), &url)?;
        }
        Ok(Endpoints { bases, appid_fixed })
    }

    /// Every API at one base URL (what the emulator serves). Validated like `resolve`.
    pub fn uniform(base: &str) -> Result<Endpoints, EndpointError> {
        let mut bases: [String; Api::ALL.len()] = Default::default();
        for (i, api) in Api::ALL.iter().enumerate() {
            bases[i] = validate(api.key(), base)?;
        }
        Ok(Endpoints { bases, appid_fixed: true })
    }

    /// The App ID management base for an instance in `region`: App ID is regional, and an
    /// instance answers only at its own region's host (IBM answers 404 elsewhere).
    pub fn appid_base(&self, region: &str) -> String {
        if self.appid_fixed || !is_valid_region(region) {
            self.base(Api::AppId).to_string()
        } else {
            Api::AppId.public_default(region)
        }
    }

    /// Base URL (no trailing slash) for an API.
    pub fn base(&self, api: Api) -> &str {
        let i = Api::ALL.iter().position(|a| *a == api).unwrap_or(0);
        &self.bases[i]
    }
}

fn is_valid_region(region: &str) -> bool {
    !region.is_empty()
        && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !region.starts_with('-')
        && !region.ends_with('-')
}

/// Checks one base URL: https anywhere, plain http only to a loopback host; no query or fragment.
fn validate(key: &str, raw: &str) -> Result<String, EndpointError> {
    let err = |message: String| EndpointError { key: key.into(), message };
    let trimmed = raw.trim().trim_end_matches('/');
    let url = url::Url::parse(trimmed).map_err(|e| err(format!("{trimmed:?} is not a valid URL ({e})")))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(err(format!("{trimmed:?} must not contain a query or fragment")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(err("credentials in the endpoint URL are not allowed".into()));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(err(format!(
                "{trimmed:?} uses plain http to a non-loopback host; use https (plain http is only allowed for 127.0.0.1, ::1 or localhost)"
            )))
        }
        other => return Err(err(format!("{trimmed:?} has scheme {other:?}; use https"))),
    }
    if url.host().is_none() {
        return Err(err(format!("{trimmed:?} has no host")));
    }
    Ok(trimmed.to_owned())
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    fn block(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn public_defaults() {
        let e = Endpoints::resolve(&BTreeMap::new(), &|_| None, "us-east").unwrap();
        assert_eq!(e.base(Api::Iam), "https://iam.cloud.ibm.com");
        assert_eq!(e.base(Api::IamPolicy), "https://iam.cloud.ibm.com");
        assert_eq!(e.base(Api::ResourceController), "https://resource-controller.cloud.ibm.com");
        assert_eq!(e.base(Api::ResourceManager), "https://resource-controller.cloud.ibm.com");
        assert_eq!(e.base(Api::UserManagement), "https://user-management.cloud.ibm.com");
        assert_eq!(e.base(Api::GlobalCatalog), "https://globalcatalog.cloud.ibm.com");
        assert_eq!(e.base(Api::Tagging), "https://tags.global-search-tagging.cloud.ibm.com");
        assert_eq!(e.base(Api::AppId), "https://us-east.appid.cloud.ibm.com");
        assert_eq!(e.base(Api::AccountManagement), "https://accounts.cloud.ibm.com");
    }

    #[test]
    fn precedence_block_then_specific_env_then_uniform_then_default() {
        let env = env_of(&[
            ("IBMQR_ENDPOINT", "http://127.0.0.1:8080/"),
            ("IBMCLOUD_IAM_API_ENDPOINT", "https://iam.env.example"),
            ("IBMCLOUD_IAMPAP_API_ENDPOINT", "https://pap.env.example"),
            ("IBMCLOUD_GT_API_ENDPOINT", ""), // empty counts as unset
        ]);
        let b = block(&[("iam", "https://iam.block.example//"), ("tagging", "  ")]);
        let e = Endpoints::resolve(&b, &env, "eu-de").unwrap();
        assert_eq!(e.base(Api::Iam), "https://iam.block.example");
        assert_eq!(e.base(Api::IamPolicy), "https://pap.env.example");
        assert_eq!(e.base(Api::Tagging), "http://127.0.0.1:8080");
        assert_eq!(e.base(Api::AppId), "http://127.0.0.1:8080");
        assert_eq!(e.base(Api::ResourceController), "http://127.0.0.1:8080");
        assert_eq!(e.base(Api::AccountManagement), "http://127.0.0.1:8080");

        let env = env_of(&[("IBMCLOUD_RESOURCE_CATALOG_API_ENDPOINT", "https://cat.example/prefix/")]);
        let e = Endpoints::resolve(&BTreeMap::new(), &env, "eu-de").unwrap();
        assert_eq!(e.base(Api::GlobalCatalog), "https://cat.example/prefix");
        assert_eq!(e.base(Api::Iam), "https://iam.cloud.ibm.com");
        assert_eq!(e.base(Api::AppId), "https://eu-de.appid.cloud.ibm.com");
        assert_eq!(e.appid_base("jp-tok"), "https://jp-tok.appid.cloud.ibm.com", "an instance is reached in its own region");
    }

    #[test]
    fn every_specific_env_var_is_read() {
        for api in Api::ALL {
            let var = api.env_var();
            let env = move |k: &str| (k == var).then(|| "https://x.example".to_string());
            let e = Endpoints::resolve(&BTreeMap::new(), &env, "us-east").unwrap();
            assert_eq!(e.base(api), "https://x.example", "{api}");
        }
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in ["http://127.0.0.1:1", "http://127.9.9.9", "http://[::1]:8080", "http://localhost:3000", "http://LOCALHOST"] {
            assert!(Endpoints::resolve(&block(&[("iam", ok)]), &|_| None, "us-east").is_ok(), "{ok}");
        }
        let err = Endpoints::resolve(&block(&[("user_management", "http://um.example.com")]), &|_| None, "us-east").unwrap_err();
        assert_eq!(err.key, "user_management");
        let text = err.to_string();
        assert!(text.contains("user_management") && text.contains("use https"), "{text}");

        let env = env_of(&[("IBMQR_ENDPOINT", "http://10.0.0.1:8080")]);
        let err = Endpoints::resolve(&BTreeMap::new(), &env, "us-east").unwrap_err();
        assert_eq!(err.key, "iam");
        assert!(Endpoints::resolve(&block(&[("iam", "ftp://x")]), &|_| None, "us-east").is_err());
        assert!(Endpoints::resolve(&block(&[("iam", "not a url")]), &|_| None, "us-east").is_err());
        assert!(Endpoints::resolve(&block(&[("iam", "https://h/?q=1")]), &|_| None, "us-east").is_err());
        assert!(Endpoints::resolve(&block(&[("iam", "https://u:p@h")]), &|_| None, "us-east").is_err());
    }

    #[test]
    fn unknown_key_and_bad_region() {
        let err = Endpoints::resolve(&block(&[("iamm", "https://x")]), &|_| None, "us-east").unwrap_err();
        assert_eq!(err.key, "iamm");
        let err = Endpoints::resolve(&BTreeMap::new(), &|_| None, "us east/evil").unwrap_err();
        assert_eq!(err.key, "appid");
        // An explicit appid endpoint makes the region irrelevant.
        assert!(Endpoints::resolve(&block(&[("appid", "https://a.example")]), &|_| None, "").is_ok());
    }

    #[test]
    fn uniform_endpoints() {
        let e = Endpoints::uniform("http://127.0.0.1:9/").unwrap();
        for api in Api::ALL {
            assert_eq!(e.base(api), "http://127.0.0.1:9");
        }
        assert!(Endpoints::uniform("http://example.com").is_err());
    }
}
