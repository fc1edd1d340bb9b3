//! The traits resources implemented before the typed framework, kept while they move to it:
//! [`resource`] and [`data_source`] adapt them to the plugin layer. To be removed.

use std::any::Any;
use std::sync::Arc;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::diag::Diagnostics;
use super::path::AttributePath;
use super::plan::default_plan;
use super::registry::{AnyDataSource, AnyResource, Planned};
use super::schema::Schema;
use super::validate::validate_block;
use super::value::{Type, Value};

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

pub fn resource<S: Any + Send + Sync, R: Resource + 'static>(inner: R) -> Arc<dyn AnyResource<S>> {
    let schema = inner.schema();
    let ty = schema.value_type();
    Arc::new(Adapter { inner, schema, ty })
}

pub fn data_source<S: Any + Send + Sync, D: DataSource + 'static>(inner: D) -> Arc<dyn AnyDataSource<S>> {
    let schema = inner.schema();
    let ty = schema.value_type();
    Arc::new(Adapter { inner, schema, ty })
}

struct Adapter<T> {
    inner: T,
    schema: Schema,
    ty: Type,
}

fn legacy_ctx<S: Any + Send + Sync>(ctx: &super::resource::Ctx<S>) -> Ctx {
    Ctx::new(ctx.provider_arc().map(|p| p as Arc<dyn Any + Send + Sync>), ctx.cancel.clone())
}

#[async_trait]
impl<S: Any + Send + Sync, R: Resource + 'static> AnyResource<S> for Adapter<R> {
    fn type_name(&self) -> &'static str {
        self.inner.type_name()
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn value_type(&self) -> &Type {
        &self.ty
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = validate_block(&self.schema.block, config);
        diags.extend(self.inner.validate(config));
        diags
    }
    async fn plan(
        &self,
        ctx: &super::resource::Ctx<S>,
        prior: Option<&Value>,
        config: &Value,
        proposed: &Value,
    ) -> Result<Planned, Diagnostics> {
        let (planned, requires_replace) = default_plan(&self.schema.block, prior, config, proposed);
        let mut plan = Plan { prior: prior.cloned(), config: config.clone(), planned, requires_replace };
        let diagnostics = self.inner.modify_plan(&legacy_ctx(ctx), &mut plan).await;
        Ok(Planned { planned: plan.planned, requires_replace: plan.requires_replace, diagnostics })
    }
    async fn read(&self, ctx: &super::resource::Ctx<S>, state: &Value) -> Result<Option<Value>, Diagnostics> {
        self.inner.read(&legacy_ctx(ctx), state).await
    }
    async fn create(&self, ctx: &super::resource::Ctx<S>, planned: &Value, config: &Value) -> (Option<Value>, Diagnostics) {
        self.inner.create(&legacy_ctx(ctx), planned, config).await
    }
    async fn update(&self, ctx: &super::resource::Ctx<S>, prior: &Value, planned: &Value, config: &Value) -> (Option<Value>, Diagnostics) {
        self.inner.update(&legacy_ctx(ctx), prior, planned, config).await
    }
    async fn delete(&self, ctx: &super::resource::Ctx<S>, prior: &Value) -> Diagnostics {
        self.inner.delete(&legacy_ctx(ctx), prior).await
    }
    async fn import(&self, ctx: &super::resource::Ctx<S>, id: &str) -> Result<Value, Diagnostics> {
        self.inner.import(&legacy_ctx(ctx), id).await
    }
    fn upgrade_state(&self, from_version: i64, raw: serde_json::Value) -> Result<serde_json::Value, Diagnostics> {
        self.inner.upgrade_state(from_version, raw)
    }
}

#[async_trait]
impl<S: Any + Send + Sync, D: DataSource + 'static> AnyDataSource<S> for Adapter<D> {
    fn type_name(&self) -> &'static str {
        self.inner.type_name()
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn value_type(&self) -> &Type {
        &self.ty
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = validate_block(&self.schema.block, config);
        diags.extend(self.inner.validate(config));
        diags
    }
    async fn read(&self, ctx: &super::resource::Ctx<S>, config: &Value) -> Result<Value, Diagnostics> {
        self.inner.read(&legacy_ctx(ctx), config).await
    }
}
