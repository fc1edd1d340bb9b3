//! Local emulator of the IBM Cloud APIs the provider uses (binary `ibmqr-emulator`).
//!
//! Layout: one module per emulated IBM API, each exposing `routes() -> Router<AppState>` and
//! storing its objects under its own kind in the generic [`state`] store. This module assembles
//! them: IBM routes get request counting / fault injection ([`faults`]) and, except the token
//! endpoint, bearer-token authentication ([`iam_token::require_bearer`]); the admin API
//! ([`admin`], `/_emulator/*`) gets neither.
//!
//! In-process use (tests):
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use terraform_provider_ibmqr::emulator::{start, EmulatorConfig};
//! let emulator = start(EmulatorConfig::default()).await?; // listens on 127.0.0.1:<free port>
//! let base_url = emulator.base_url.clone();
//! // ... point the client at base_url ...
//! emulator.shutdown().await?;
//! # Ok(()) }
//! ```

pub mod access_groups;
pub mod account_management;
pub mod admin;
pub mod appid;
pub mod errors;
pub mod faults;
pub mod global_catalog;
pub mod iam_identity;
pub mod iam_idps;
pub mod iam_policies;
pub mod iam_roles;
pub mod iam_token;
pub mod login;
pub mod resource_controller;
pub mod resource_manager;
pub mod state;
pub mod tagging;
pub mod traffic;
pub mod user_management;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use access_groups::PUBLIC_ACCESS_ID;
pub use account_management::{OWNER_EMAIL, OWNER_IAM_ID};
use errors::ApiError;
pub use state::AppState;

/// Account id used when none is configured (32 hex digits, like a real one).
pub const DEFAULT_ACCOUNT_ID: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 3600;
/// IBM takes a while to purge a reclaimed instance; short, so that tests of purges stay quick.
pub const DEFAULT_RECLAIM_MS: u64 = 500;

#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Port 0 picks a free port.
    pub listen: SocketAddr,
    /// Loaded at start if it exists; rewritten atomically after every mutation.
    pub state_file: Option<PathBuf>,
    /// Accepted API keys; empty accepts any non-empty key.
    pub api_keys: Vec<String>,
    pub account_id: String,
    pub token_lifetime_secs: u64,
    /// Initial consistency lag (milliseconds) for newly created objects.
    pub lag_ms: u64,
    /// Latency and rate-limit modes (all off by default); see [`traffic`].
    pub traffic: traffic::TrafficSettings,
    /// Chaos mode from the start (off by default); see [`faults`].
    pub chaos: Option<faults::ChaosSettings>,
    /// How long a reclaimed instance's reclamation stays `RECLAIMING` (milliseconds).
    pub reclaim_ms: u64,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            state_file: None,
            api_keys: Vec::new(),
            account_id: DEFAULT_ACCOUNT_ID.to_string(),
            token_lifetime_secs: DEFAULT_TOKEN_LIFETIME_SECS,
            lag_ms: 0,
            traffic: traffic::TrafficSettings::default(),
            chaos: None,
            reclaim_ms: DEFAULT_RECLAIM_MS,
        }
    }
}

/// The complete HTTP application for `state`.
pub fn router(state: AppState) -> Router {
    // What every account has before anyone touches it.
    resource_manager::seed_default_group(&state);
    access_groups::seed_public_access_group(&state);
    user_management::seed_account_owner(&state);
    // Every IBM API except the token endpoint needs a bearer token.
    let authenticated = Router::new()
        .merge(iam_roles::routes())
        .merge(resource_manager::routes())
        .merge(resource_controller::routes())
        .merge(tagging::routes())
        .merge(iam_identity::routes())
        .merge(iam_policies::routes())
        .merge(access_groups::routes())
        .merge(user_management::routes())
        .merge(account_management::routes())
        .merge(iam_idps::routes())
        .merge(appid::routes())
        .route_layer(from_fn_with_state(state.clone(), iam_token::require_bearer));
    // Counting and faults wrap authentication, so injected faults and 401s are both counted.
    let ibm_apis = Router::new()
        .merge(iam_token::routes())
        .merge(global_catalog::routes())
        .merge(authenticated)
        .route_layer(from_fn_with_state(state.clone(), traffic::shape))
        .route_layer(from_fn_with_state(state.clone(), faults::count_and_inject_faults));
    Router::new()
        .merge(ibm_apis)
        .merge(admin::routes())
        .merge(login::routes())
        .merge(traffic::admin_routes())
        .fallback(unknown_route)
        .with_state(state)
}

async fn unknown_route(uri: http::Uri) -> impl IntoResponse {
    ApiError::not_found("not_found", format!("The emulator does not implement {}.", uri.path()))
}

/// A running emulator; dropping it also shuts the server down (gracefully, in the background).
pub struct RunningEmulator {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base_url: String,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<io::Result<()>>,
}

impl RunningEmulator {
    /// Stops accepting connections, lets in-flight requests finish, and waits for the server.
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
        }
        self.task.await.map_err(io::Error::other)?
    }
}

/// Binds `cfg.listen`, loads the state file, and serves in a background task.
pub async fn start(cfg: EmulatorConfig) -> io::Result<RunningEmulator> {
    let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
    let addr = listener.local_addr()?;
    // A wildcard bind address is not something a client can connect to.
    let client_ip = if addr.ip().is_unspecified() { Ipv4Addr::LOCALHOST.into() } else { addr.ip() };
    let base_url = format!("http://{}", SocketAddr::new(client_ip, addr.port()));
    let settings = state::Settings {
        base_url: base_url.clone(),
        account_id: cfg.account_id,
        api_keys: cfg.api_keys,
        token_lifetime_secs: cfg.token_lifetime_secs,
        state_file: cfg.state_file,
        reclaim_ms: cfg.reclaim_ms,
    };
    let state = AppState::new(settings, cfg.lag_ms)?;
    {
        let mut runtime = state.runtime();
        runtime.traffic.settings = cfg.traffic;
        runtime.chaos = cfg.chaos.map(faults::Chaos::new);
    }
    // The peer address tells the traffic log which connection a request came on.
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let (shutdown_sender, shutdown_receiver) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = shutdown_receiver.await;
            })
            .await
    });
    Ok(RunningEmulator { addr, base_url, state, shutdown: Some(shutdown_sender), task })
}

#[cfg(test)]
mod tests;
