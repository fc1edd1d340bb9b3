//! What a resource, a data source and the provider implement: typed models in and out, errors
//! as [`OpError`] so that `?` works throughout.
//!
//! A resource declares its model, one serde struct for config, plan and state whose fields are
//! [`Tf`](super::Tf) wherever a plan value can be unknown. The framework decodes Terraform's
//! values into it and encodes results with the schema it built once per process
//! ([`super::registry`]).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::diag::Diagnostics;
use super::error::{OpError, OpResult};
use super::identity::IdentitySchema;
use super::list::AnyListResource;
use super::path::AttributePath;
use super::registry::{AnyDataSource, AnyResource};
use super::schema::Schema;
use super::value::Value;

/// What every operation gets: the configured provider's state and the stop signal.
pub struct Ctx<S> {
    provider: Option<Arc<S>>,
    /// Cancelled when Terraform sends StopProvider (the user pressed Ctrl-C).
    pub cancel: CancellationToken,
    saved: Mutex<Option<serde_json::Value>>,
}

impl<S> Ctx<S> {
    pub fn new(provider: Option<Arc<S>>, cancel: CancellationToken) -> Self {
        Self { provider, cancel, saved: Mutex::new(None) }
    }

    /// The configured provider's state, or an error if ConfigureProvider has not run.
    pub fn provider(&self) -> OpResult<&S> {
        self.provider
            .as_deref()
            .ok_or_else(|| OpError::new("Provider not configured", "the ibmqr provider was used before it was configured"))
    }

    /// Records the object as it now stands at IBM. Call it right after the request that made or
    /// changed the object: if a later step fails, the framework saves this as the object's state
    /// (unless the error carries its own), so no object is lost from state.
    pub fn save<M: Serialize>(&self, model: &M) {
        if let (Ok(json), Ok(mut slot)) = (super::model::to_json(model), self.saved.lock()) {
            *slot = Some(json);
        }
    }

    pub(crate) fn take_saved(&self) -> Option<serde_json::Value> {
        self.saved.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// A planned change, as the framework computed it; a resource may refine it.
#[derive(Clone, Debug)]
pub struct Plan<M> {
    /// The state before the change; None when the object is to be created.
    pub prior: Option<M>,
    pub config: M,
    pub planned: M,
    /// Attributes whose change replaces the object. A resource may add to them; the framework
    /// then plans the computed attributes of the new object as unknown.
    pub requires_replace: Vec<AttributePath>,
    /// Warnings to show with the plan.
    pub warnings: Diagnostics,
}

impl<M> Plan<M> {
    pub fn is_create(&self) -> bool {
        self.prior.is_none()
    }
}

/// A Terraform resource type. `S` is the configured provider's state.
///
/// Room to grow: further items join with defaults, served through [`AnyResource`], so that no
/// existing type has to change for them.
#[async_trait]
pub trait Resource<S: Send + Sync + 'static>: Send + Sync + Sized + 'static {
    type Model: Serialize + DeserializeOwned + Clone + Send + Sync + 'static;

    const TYPE_NAME: &'static str;

    /// Built once per process by the framework. Constraints on single values are declared here.
    fn schema() -> Schema;

    /// Checks across attributes that the schema cannot declare. Runs in a provider process that
    /// is never configured; unknown values must be skipped.
    fn validate(&self, _config: &Self::Model) -> Diagnostics {
        Diagnostics::new()
    }

    /// Refines the plan: checks that need the API, normalisation. Must skip unknown values.
    async fn modify_plan(&self, _ctx: &Ctx<S>, _plan: &mut Plan<Self::Model>) -> OpResult<()> {
        Ok(())
    }

    /// Creates the object. Right after the request that makes it, call [`Ctx::save`].
    async fn create(&self, ctx: &Ctx<S>, planned: Self::Model, config: Self::Model) -> OpResult<Self::Model>;

    /// Refreshes state; `Ok(None)` means the object is gone.
    async fn read(&self, ctx: &Ctx<S>, state: Self::Model) -> OpResult<Option<Self::Model>>;

    async fn update(&self, ctx: &Ctx<S>, prior: Self::Model, planned: Self::Model, config: Self::Model) -> OpResult<Self::Model>;

    async fn delete(&self, ctx: &Ctx<S>, prior: Self::Model) -> OpResult<()>;

    /// The state an import ID names, or None if there is no such object. `stub` is a model with
    /// only `id` set; by default it is read. A resource overrides this only where the import ID is
    /// not its state ID.
    async fn import(&self, ctx: &Ctx<S>, _id: &str, stub: Self::Model) -> OpResult<Option<Self::Model>> {
        self.read(ctx, stub).await
    }

    /// The error when an import ID names no object: it should say what the ID looks like.
    fn import_not_found(&self, id: &str) -> OpError {
        OpError::new("Cannot import: not found", format!("no {} has the import ID {id:?}.", Self::TYPE_NAME))
    }

    /// The identity (Terraform 1.12+): by default the `id` attribute. Declare only attributes that
    /// are never updated in place and are known after apply, in the order of the import ID's
    /// `/`-separated parts. An empty description takes the state attribute's.
    fn identity() -> IdentitySchema {
        IdentitySchema::new().attr("id", "")
    }

    /// Refines the configuration generated from an imported state, after the framework's rules
    /// (see [`super::generate`]): for what only the type knows.
    fn refine_generated_config(&self, _config: &mut Self::Model) {}

    /// Moves raw JSON state written by an older schema version to the current one.
    fn upgrade_state(&self, _from_version: i64, raw: serde_json::Value) -> OpResult<serde_json::Value> {
        Ok(raw)
    }
}

/// A Terraform data source type.
#[async_trait]
pub trait DataSource<S: Send + Sync + 'static>: Send + Sync + Sized + 'static {
    type Model: Serialize + DeserializeOwned + Clone + Send + Sync + 'static;

    const TYPE_NAME: &'static str;

    fn schema() -> Schema;

    /// Checks across attributes that the schema cannot declare; unknown values must be skipped.
    fn validate(&self, _config: &Self::Model) -> Diagnostics {
        Diagnostics::new()
    }

    async fn read(&self, ctx: &Ctx<S>, config: Self::Model) -> OpResult<Self::Model>;
}

/// The provider itself: its schema, how it is configured, and the types it serves.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// What ConfigureProvider builds and every operation reads through [`Ctx::provider`].
    type State: Send + Sync + 'static;

    fn schema(&self) -> Schema;
    /// Checks across attributes that the schema cannot declare.
    fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }
    async fn configure(&self, config: &Value, cancel: CancellationToken) -> OpResult<Self::State>;
    fn resources(&self) -> Vec<Arc<dyn AnyResource<Self::State>>>;
    fn data_sources(&self) -> Vec<Arc<dyn AnyDataSource<Self::State>>>;
    /// The resource types `terraform query` can list (Terraform 1.14+).
    fn list_resources(&self) -> Vec<Arc<dyn AnyListResource<Self::State>>> {
        Vec::new()
    }
}
