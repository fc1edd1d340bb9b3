//! What a resource, a data source and the provider itself implement.

use std::any::Any;
use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::diag::Diagnostics;
use super::path::AttributePath;
use super::schema::Schema;
use super::value::Value;

/// What every operation gets: the configured provider's data and the stop signal.
#[derive(Clone)]
pub struct Ctx {
    provider: Option<Arc<dyn Any + Send + Sync>>,
    /// Cancelled when Terraform sends StopProvider (the user pressed Ctrl-C).
    pub cancel: CancellationToken,
}

impl Ctx {
    pub fn new(provider: Option<Arc<dyn Any + Send + Sync>>, cancel: CancellationToken) -> Self {
        Self { provider, cancel }
    }

    /// The configured provider's data, or an error if ConfigureProvider has not run.
    pub fn provider<T: Any + Send + Sync>(&self) -> Result<&T, Diagnostics> {
        self.provider
            .as_deref()
            .and_then(|p| p.downcast_ref::<T>())
            .ok_or_else(|| Diagnostics::error("Provider not configured", "the ibmqr provider was used before it was configured"))
    }
}

/// A planned change, as the framework computed it; a resource may refine it.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The state before the change; None when the object is to be created.
    pub prior: Option<Value>,
    pub config: Value,
    pub planned: Value,
    pub requires_replace: Vec<AttributePath>,
}

impl Plan {
    pub fn is_create(&self) -> bool {
        self.prior.is_none()
    }
}

/// State after an operation plus its diagnostics. With errors, a `Some` state is still saved, so
/// that an apply failing halfway leaves state that tells the truth.
pub type StateResult = (Option<Value>, Diagnostics);

/// The end of a successful create or update: the encoded state, or the encoding error (no state).
pub fn state_from(encoded: Result<Value, Diagnostics>) -> StateResult {
    match encoded {
        Ok(v) => (Some(v), Diagnostics::new()),
        Err(d) => (None, d),
    }
}

#[async_trait]
pub trait Resource: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;

    /// Shape checks only: runs in a provider process that is never configured.
    fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }

    /// Refines the plan (checks that need the API, normalisation). Must skip unknown values.
    async fn modify_plan(&self, _ctx: &Ctx, _plan: &mut Plan) -> Diagnostics {
        Diagnostics::new()
    }

    async fn create(&self, ctx: &Ctx, planned: &Value, config: &Value) -> StateResult;

    /// Refreshes state; `Ok(None)` means the object is gone.
    async fn read(&self, ctx: &Ctx, state: &Value) -> Result<Option<Value>, Diagnostics>;

    async fn update(&self, ctx: &Ctx, prior: &Value, planned: &Value, config: &Value) -> StateResult;

    async fn delete(&self, ctx: &Ctx, prior: &Value) -> Diagnostics;

    /// Builds state from an import ID; Terraform reads it afterwards.
    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Value, Diagnostics>;

    /// Moves raw JSON state written by an older schema version to the current one.
    fn upgrade_state(&self, _from_version: i64, raw: serde_json::Value) -> Result<serde_json::Value, Diagnostics> {
        Ok(raw)
    }
}

#[async_trait]
pub trait DataSource: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }
    async fn read(&self, ctx: &Ctx, config: &Value) -> Result<Value, Diagnostics>;
}

#[async_trait]
pub trait Provider: Send + Sync + 'static {
    fn schema(&self) -> Schema;
    fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }
    /// Builds what resources reach through [`Ctx::provider`].
    async fn configure(&self, config: &Value, cancel: CancellationToken) -> Result<Arc<dyn Any + Send + Sync>, Diagnostics>;
    fn resources(&self) -> Vec<Arc<dyn Resource>>;
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>>;
}
