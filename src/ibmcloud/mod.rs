//! IBM Cloud REST client: IAM token handling, one request path with retries, pagination,
//! polling, and typed calls per API. Knows nothing of Terraform.

// `Error::Api(ApiError)` is matched by value in callers; boxing it would only save a few bytes per
// Result on a path dominated by network latency.
#![allow(clippy::result_large_err)]

pub mod access_groups;
pub mod account_management;
pub mod appid;
pub(crate) mod auth;
pub mod create;
mod endpoints;
mod error;
mod gate;
pub mod global_catalog;
pub(crate) mod http;
pub mod iam_identity;
pub mod iam_idps;
pub mod iam_policy;
pub(crate) mod pagination;
pub mod redact;
pub mod resource_controller;
pub mod resource_manager;
pub mod tagging;
pub mod user_management;
mod wait;

#[cfg(test)]
pub(crate) mod testing;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use self::auth::Identity;
pub use self::create::Uniqueness;
pub use self::endpoints::{EndpointError, Endpoints, UNIFORM_ENV};
pub use self::error::{ApiError, Error};
pub use self::http::{backoff, path_segment, retry_after_delay, ApiResponse, RequestBuilder};
pub use self::iam_identity::{AccountSettings, AccountSettingsUpdate, UserDomainRestriction, IBMID_REALM};
pub use self::iam_policy::{policy_conflict, Policy, PolicyAttribute, PolicyBody, PolicyConflict};
pub use self::iam_policy::{role_conflict, CustomRole, CustomRoleUpdate, NewCustomRole, Role, RoleConflict, RoleList};
pub use self::pagination::PageStyle;
pub use self::wait::{poll_until, Poll};
pub use ::http::Method;

/// The IBM Cloud APIs this client talks to; each has its own base URL (see [`Endpoints`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// IAM token, IAM Identity, Access Groups.
    Iam,
    /// IAM Policy Management: roles and policies.
    IamPolicy,
    ResourceController,
    ResourceManager,
    UserManagement,
    GlobalCatalog,
    Tagging,
    AppId,
    /// Account Management (COE v2): the account and its owner.
    AccountManagement,
}

/// An IBM Cloud API key. Prints as `***` so it cannot leak through `{:?}` or `{}`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// The secret itself; only the token exchange should need this.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Everything the client needs; built by the provider configuration layer.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub api_key: ApiKey,
    /// Account to act on; when `None`, the account of the API key's token (`account.bss`).
    pub account_id: Option<String>,
    /// Retries after the first attempt, for retryable failures (429, 5xx except 501, connection errors).
    pub max_retries: u32,
    /// Timeout of each single HTTP request (not of a whole retried call).
    pub request_timeout: Duration,
    pub endpoints: Endpoints,
    pub user_agent: String,
    /// Cap on the requests per second sent to each API; `None` = no cap (IBM's limits are per
    /// user, across every process using the key, so a cap here only paces this process).
    pub max_requests_per_second: Option<f64>,
}

/// Retries after a request's first attempt, unless the provider's `max_retries` says otherwise.
pub const DEFAULT_MAX_RETRIES: u32 = 8;
/// Time limit of one HTTP request, unless the provider's `request_timeout_seconds` says otherwise.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

impl ClientConfig {
    /// A config with the defaults above, the token's own account and our user agent.
    pub fn new(api_key: ApiKey, endpoints: Endpoints) -> ClientConfig {
        ClientConfig {
            api_key,
            account_id: None,
            max_retries: DEFAULT_MAX_RETRIES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            endpoints,
            user_agent: format!("terraform-provider-ibmqr/{}", env!("CARGO_PKG_VERSION")),
            max_requests_per_second: None,
        }
    }
}

/// Handle to IBM Cloud. Cheap to clone: every clone shares one connection pool and one token.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    http: reqwest::Client,
    cfg: ClientConfig,
    cancel: CancellationToken,
    tokens: auth::TokenCache,
    /// One back-off gate per API, shared by every request of this client.
    gates: gate::Gates,
    /// Static members per access group, listed once and shared (see `static_member_ids`).
    member_sets: access_groups::MemberSets,
    /// Look-ups of people by email waiting for the next batched search.
    user_searches: user_management::UserSearches,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").field("account_id", &self.inner.cfg.account_id).finish_non_exhaustive()
    }
}

impl Client {
    /// Builds the client. No network traffic happens until the first request.
    pub fn new(cfg: ClientConfig, cancel: CancellationToken) -> Result<Client, Error> {
        Self::with_clock(cfg, cancel, Arc::new(auth::system_clock))
    }

    pub(crate) fn with_clock(cfg: ClientConfig, cancel: CancellationToken, clock: auth::Clock) -> Result<Client, Error> {
        if cfg.api_key.expose().trim().is_empty() {
            return Err(Error::Config("api_key is empty; set api_key or IC_API_KEY".into()));
        }
        if let Some(acct) = &cfg.account_id {
            if acct.trim().is_empty() {
                return Err(Error::Config("account_id is empty".into()));
            }
        }
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(cfg.user_agent.clone())
            .timeout(cfg.request_timeout)
            .connect_timeout(cfg.request_timeout.min(Duration::from_secs(30)))
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        let tokens = auth::TokenCache::new(clock);
        let gates = gate::Gates::new(cfg.max_requests_per_second);
        Ok(Client {
            inner: Arc::new(Inner { http, cfg, cancel, tokens, gates, member_sets: Default::default(), user_searches: Default::default() }),
        })
    }
}
