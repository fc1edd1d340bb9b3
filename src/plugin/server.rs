//! The tfplugin6 `Provider` gRPC service, dispatching to the framework's traits.
//!
//! Every handler runs under a panic guard: a panic becomes an error diagnostic, never a dead
//! connection. StopProvider cancels the token every operation carries.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use futures::FutureExt;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::framework::unconfirmed;
use crate::framework::validate::validate_block;
use crate::framework::{AnyDataSource, AnyListResource, AnyResource, Ctx, Diagnostics, Provider, Schema, Value};

use super::convert::{
    decode, decode_identity, diagnostics_to_proto, encode, encode_identity, identity_schema_to_proto, path_to_proto, schema_to_proto,
    upgrade_raw_state,
};
use super::proto;
use super::proto::provider_server::Provider as ProviderRpc;

pub struct ProviderService<P: Provider> {
    provider: Arc<P>,
    /// Built once per process, like every resource's.
    provider_schema: Schema,
    resources: HashMap<&'static str, Arc<dyn AnyResource<P::State>>>,
    data_sources: HashMap<&'static str, Arc<dyn AnyDataSource<P::State>>>,
    list_resources: HashMap<&'static str, Arc<dyn AnyListResource<P::State>>>,
    configured: RwLock<Option<Arc<P::State>>>,
    cancel: CancellationToken,
}

impl<P: Provider> ProviderService<P> {
    pub fn new(provider: Arc<P>, cancel: CancellationToken) -> Self {
        let resources = provider.resources().into_iter().map(|r| (r.type_name(), r)).collect();
        let data_sources = provider.data_sources().into_iter().map(|d| (d.type_name(), d)).collect();
        let list_resources = provider.list_resources().into_iter().map(|l| (l.type_name(), l)).collect();
        let provider_schema = provider.schema();
        Self { provider, provider_schema, resources, data_sources, list_resources, configured: RwLock::new(None), cancel }
    }

    fn ctx(&self) -> Ctx<P::State> {
        let data = self.configured.read().ok().and_then(|g| g.clone());
        Ctx::new(data, self.cancel.clone())
    }

    fn resource(&self, type_name: &str) -> Result<Arc<dyn AnyResource<P::State>>, Diagnostics> {
        self.resources
            .get(type_name)
            .cloned()
            .ok_or_else(|| Diagnostics::error("Unknown resource type", format!("ibmqr has no resource type {type_name:?}")))
    }

    fn list_resource(&self, type_name: &str) -> Result<Listable<P::State>, Diagnostics> {
        let list = self
            .list_resources
            .get(type_name)
            .cloned()
            .ok_or_else(|| Diagnostics::error("Unknown list resource type", format!("ibmqr cannot list {type_name:?}")))?;
        Ok((list, self.resource(type_name)?))
    }

    fn data_source(&self, type_name: &str) -> Result<Arc<dyn AnyDataSource<P::State>>, Diagnostics> {
        self.data_sources
            .get(type_name)
            .cloned()
            .ok_or_else(|| Diagnostics::error("Unknown data source", format!("ibmqr has no data source {type_name:?}")))
    }
}

/// Runs a handler; a panic inside it becomes an error diagnostic.
async fn guarded<T>(rpc: &str, work: impl Future<Output = T>, on_panic: impl FnOnce(Diagnostics) -> T) -> T {
    match AssertUnwindSafe(work).catch_unwind().await {
        Ok(v) => v,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            log::error!("panic in {rpc}: {what}");
            on_panic(Diagnostics::error(
                "Internal error in the ibmqr provider",
                format!("{rpc} failed unexpectedly: {what}. Please report this as a bug."),
            ))
        }
    }
}

fn diags(d: &Diagnostics) -> Vec<proto::Diagnostic> {
    diagnostics_to_proto(d)
}

/// A listable type: its list, and its resource, whose types encode what the list finds.
type Listable<S> = (Arc<dyn AnyListResource<S>>, Arc<dyn AnyResource<S>>);

type ListStream = Pin<Box<dyn futures::Stream<Item = Result<proto::list_resource::Event, Status>> + Send>>;

#[tonic::async_trait]
impl<P: Provider> ProviderRpc for ProviderService<P> {
    async fn get_metadata(&self, _r: Request<proto::get_metadata::Request>) -> Result<Response<proto::get_metadata::Response>, Status> {
        use proto::get_metadata as m;
        let mut resources: Vec<_> = self.resources.keys().map(|t| m::ResourceMetadata { type_name: t.to_string() }).collect();
        resources.sort_by(|a, b| a.type_name.cmp(&b.type_name));
        let mut data_sources: Vec<_> = self.data_sources.keys().map(|t| m::DataSourceMetadata { type_name: t.to_string() }).collect();
        data_sources.sort_by(|a, b| a.type_name.cmp(&b.type_name));
        let mut list_resources: Vec<_> = self.list_resources.keys().map(|t| m::ListResourceMetadata { type_name: t.to_string() }).collect();
        list_resources.sort_by(|a, b| a.type_name.cmp(&b.type_name));
        Ok(Response::new(m::Response {
            server_capabilities: Some(server_capabilities()),
            resources,
            data_sources,
            list_resources,
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _r: Request<proto::get_provider_schema::Request>,
    ) -> Result<Response<proto::get_provider_schema::Response>, Status> {
        // Counted by the schema-caching test and the bench (TF_LOG_PROVIDER=debug).
        log::debug!("GetProviderSchema: sending every schema");
        let work = async {
            proto::get_provider_schema::Response {
                provider: Some(schema_to_proto(&self.provider_schema)),
                resource_schemas: self.resources.iter().map(|(k, r)| (k.to_string(), schema_to_proto(r.schema()))).collect(),
                data_source_schemas: self.data_sources.iter().map(|(k, d)| (k.to_string(), schema_to_proto(d.schema()))).collect(),
                list_resource_schemas: self.list_resources.iter().map(|(k, l)| (k.to_string(), schema_to_proto(l.schema()))).collect(),
                server_capabilities: Some(server_capabilities()),
                ..Default::default()
            }
        };
        let resp =
            guarded("GetProviderSchema", work, |d| proto::get_provider_schema::Response { diagnostics: diags(&d), ..Default::default() })
                .await;
        Ok(Response::new(resp))
    }

    async fn validate_provider_config(
        &self,
        r: Request<proto::validate_provider_config::Request>,
    ) -> Result<Response<proto::validate_provider_config::Response>, Status> {
        let req = r.into_inner();
        let work = async {
            let d = match decode(req.config.as_ref(), &self.provider_schema.value_type()) {
                Ok(config) => {
                    let mut d = validate_block(&self.provider_schema.block, &config);
                    d.extend(self.provider.validate(&config));
                    d
                }
                Err(d) => d,
            };
            proto::validate_provider_config::Response { diagnostics: diags(&d) }
        };
        Ok(Response::new(
            guarded("ValidateProviderConfig", work, |d| proto::validate_provider_config::Response { diagnostics: diags(&d) }).await,
        ))
    }

    async fn validate_resource_config(
        &self,
        r: Request<proto::validate_resource_config::Request>,
    ) -> Result<Response<proto::validate_resource_config::Response>, Status> {
        let req = r.into_inner();
        let work = async {
            let d = (|| {
                let res = self.resource(&req.type_name)?;
                let config = decode(req.config.as_ref(), res.value_type())?;
                let mut d = res.validate(&config);
                let write_only_allowed = req.client_capabilities.as_ref().is_some_and(|c| c.write_only_attributes_allowed);
                if !write_only_allowed {
                    d.extend(refuse_write_only(res.schema(), &config));
                }
                Ok::<_, Diagnostics>(d)
            })()
            .unwrap_or_else(|d| d);
            proto::validate_resource_config::Response { diagnostics: diags(&d) }
        };
        Ok(Response::new(
            guarded("ValidateResourceConfig", work, |d| proto::validate_resource_config::Response { diagnostics: diags(&d) }).await,
        ))
    }

    async fn validate_data_resource_config(
        &self,
        r: Request<proto::validate_data_resource_config::Request>,
    ) -> Result<Response<proto::validate_data_resource_config::Response>, Status> {
        let req = r.into_inner();
        let work = async {
            let d = (|| {
                let ds = self.data_source(&req.type_name)?;
                let config = decode(req.config.as_ref(), ds.value_type())?;
                Ok::<_, Diagnostics>(ds.validate(&config))
            })()
            .unwrap_or_else(|d| d);
            proto::validate_data_resource_config::Response { diagnostics: diags(&d) }
        };
        Ok(Response::new(
            guarded("ValidateDataResourceConfig", work, |d| proto::validate_data_resource_config::Response { diagnostics: diags(&d) })
                .await,
        ))
    }

    async fn upgrade_resource_state(
        &self,
        r: Request<proto::upgrade_resource_state::Request>,
    ) -> Result<Response<proto::upgrade_resource_state::Response>, Status> {
        let req = r.into_inner();
        let work = async {
            let result = self
                .resource(&req.type_name)
                .and_then(|res| upgrade_raw_state(res.as_ref(), req.version, &req.raw_state.unwrap_or_default()));
            match result {
                Ok(state) => proto::upgrade_resource_state::Response { upgraded_state: Some(state), diagnostics: vec![] },
                Err(d) => proto::upgrade_resource_state::Response { upgraded_state: None, diagnostics: diags(&d) },
            }
        };
        Ok(Response::new(
            guarded("UpgradeResourceState", work, |d| proto::upgrade_resource_state::Response {
                upgraded_state: None,
                diagnostics: diags(&d),
            })
            .await,
        ))
    }

    async fn get_resource_identity_schemas(
        &self,
        _r: Request<proto::get_resource_identity_schemas::Request>,
    ) -> Result<Response<proto::get_resource_identity_schemas::Response>, Status> {
        // Terraform 1.12+ asks on every schema load and stops on an error: this never fails.
        let identity_schemas =
            self.resources.iter().map(|(name, r)| (name.to_string(), identity_schema_to_proto(r.identity_schema()))).collect();
        Ok(Response::new(proto::get_resource_identity_schemas::Response { identity_schemas, diagnostics: vec![] }))
    }

    async fn upgrade_resource_identity(
        &self,
        r: Request<proto::upgrade_resource_identity::Request>,
    ) -> Result<Response<proto::upgrade_resource_identity::Response>, Status> {
        let req = r.into_inner();
        let work = async {
            let result = (|| {
                let res = self.resource(&req.type_name)?;
                let raw = req.raw_identity.unwrap_or_default();
                let json: serde_json::Value = if raw.json.is_empty() {
                    serde_json::Value::Null
                } else {
                    serde_json::from_slice(&raw.json)
                        .map_err(|e| Diagnostics::error("Unreadable identity", format!("stored identity is not valid JSON: {e}")))?
                };
                let identity = res.upgrade_identity(req.version, &json)?;
                Ok::<_, Diagnostics>(encode_identity(Some(identity), res.identity_type()))
            })();
            match result {
                Ok(upgraded) => proto::upgrade_resource_identity::Response { upgraded_identity: upgraded, diagnostics: vec![] },
                Err(d) => proto::upgrade_resource_identity::Response { upgraded_identity: None, diagnostics: diags(&d) },
            }
        };
        Ok(Response::new(
            guarded("UpgradeResourceIdentity", work, |d| proto::upgrade_resource_identity::Response {
                upgraded_identity: None,
                diagnostics: diags(&d),
            })
            .await,
        ))
    }

    async fn configure_provider(
        &self,
        r: Request<proto::configure_provider::Request>,
    ) -> Result<Response<proto::configure_provider::Response>, Status> {
        let req = r.into_inner();
        let work = async {
            let d = match decode(req.config.as_ref(), &self.provider_schema.value_type()) {
                Err(d) => d,
                Ok(config) => match self.provider.configure(&config, self.cancel.clone()).await {
                    Ok(state) => {
                        if let Ok(mut slot) = self.configured.write() {
                            *slot = Some(Arc::new(state));
                        }
                        Diagnostics::new()
                    }
                    Err(e) => e.diagnostics,
                },
            };
            proto::configure_provider::Response { diagnostics: diags(&d) }
        };
        Ok(Response::new(guarded("ConfigureProvider", work, |d| proto::configure_provider::Response { diagnostics: diags(&d) }).await))
    }

    async fn read_resource(&self, r: Request<proto::read_resource::Request>) -> Result<Response<proto::read_resource::Response>, Status> {
        let req = r.into_inner();
        let current = req.current_state.clone();
        let private = req.private.clone();
        let work = async {
            let result = async {
                let res = self.resource(&req.type_name)?;
                let ty = res.value_type();
                let state = decode(req.current_state.as_ref(), ty)?;
                if state.is_null() {
                    return Ok((encode(&Value::Null, ty), None, Diagnostics::new(), private.clone()));
                }
                let ctx = self.ctx();
                let found = match (res.read(&ctx, &state).await, unconfirmed::time_left(&private, SystemTime::now())) {
                    // Made by a create that did not finish, and not shown yet: not deleted.
                    (Ok(None), Some(left)) => unconfirmed::wait_until_shown(res.as_ref(), &ctx, &state, left).await,
                    (found, _) => found,
                };
                let (new_state, d, private) = match found {
                    Ok(Some(mut new_state)) => {
                        res.schema().block.null_write_only(&mut new_state);
                        (new_state, Diagnostics::new(), unconfirmed::seen(&private))
                    }
                    // Gone: a null state makes Terraform drop it and plan a create.
                    Ok(None) => (Value::Null, Diagnostics::new(), private.clone()),
                    Err(d) => (state, d, private.clone()),
                };
                let identity = encode_identity(res.identity(&new_state), res.identity_type());
                Ok((encode(&new_state, ty), identity, d, private))
            }
            .await;
            match result {
                Ok((state, identity, d, private)) => proto::read_resource::Response {
                    new_state: Some(state),
                    diagnostics: diags(&d),
                    private,
                    new_identity: identity,
                    ..Default::default()
                },
                Err(d) => proto::read_resource::Response {
                    new_state: current.clone(),
                    diagnostics: diags(&d),
                    private: private.clone(),
                    ..Default::default()
                },
            }
        };
        Ok(Response::new(
            guarded("ReadResource", work, |d| proto::read_resource::Response {
                new_state: req.current_state.clone(),
                diagnostics: diags(&d),
                private: req.private.clone(),
                ..Default::default()
            })
            .await,
        ))
    }

    async fn plan_resource_change(
        &self,
        r: Request<proto::plan_resource_change::Request>,
    ) -> Result<Response<proto::plan_resource_change::Response>, Status> {
        let req = r.into_inner();
        let work = async {
            let result = async {
                let res = self.resource(&req.type_name)?;
                let ty = res.value_type();
                let prior = decode(req.prior_state.as_ref(), ty)?;
                let proposed = decode(req.proposed_new_state.as_ref(), ty)?;
                let config = decode(req.config.as_ref(), ty)?;
                if proposed.is_null() {
                    // Destroy: nothing to plan.
                    return Ok((encode(&Value::Null, ty), vec![], None, Diagnostics::new()));
                }
                let prior = if prior.is_null() { None } else { Some(prior) };
                let mut plan = res.plan(&self.ctx(), prior.as_ref(), &config, &proposed).await?;
                res.schema().block.null_write_only(&mut plan.planned);
                let replace = plan.requires_replace.iter().map(path_to_proto).collect();
                // Only a wholly known identity: a new object's IBM-assigned ID is unknown until
                // apply, and Terraform 1.15 cannot show a plan whose identity is partly unknown
                // (`show -json`: "value is not known"). Apply then returns it.
                let identity = res.identity(&plan.planned).filter(Value::is_wholly_known);
                let identity = encode_identity(identity, res.identity_type());
                Ok::<_, Diagnostics>((encode(&plan.planned, ty), replace, identity, plan.diagnostics))
            }
            .await;
            match result {
                Ok((planned, replace, identity, d)) => proto::plan_resource_change::Response {
                    planned_state: Some(planned),
                    requires_replace: replace,
                    planned_private: req.prior_private.clone(),
                    diagnostics: diags(&d),
                    planned_identity: identity,
                    ..Default::default()
                },
                Err(d) => proto::plan_resource_change::Response { diagnostics: diags(&d), ..Default::default() },
            }
        };
        Ok(Response::new(
            guarded("PlanResourceChange", work, |d| proto::plan_resource_change::Response { diagnostics: diags(&d), ..Default::default() })
                .await,
        ))
    }

    async fn apply_resource_change(
        &self,
        r: Request<proto::apply_resource_change::Request>,
    ) -> Result<Response<proto::apply_resource_change::Response>, Status> {
        let req = r.into_inner();
        let prior_state = req.prior_state.clone();
        let work = async {
            let result = async {
                let res = self.resource(&req.type_name)?;
                let ty = res.value_type();
                let prior = decode(req.prior_state.as_ref(), ty)?;
                let planned = decode(req.planned_state.as_ref(), ty)?;
                let config = decode(req.config.as_ref(), ty)?;
                let ctx = self.ctx();
                let mut private = req.planned_private.clone();
                let (new_state, d) = if planned.is_null() {
                    let d = res.delete(&ctx, &prior).await;
                    // A failed delete keeps the object in state.
                    (if d.has_errors() { prior } else { Value::Null }, d)
                } else if prior.is_null() {
                    let made_at = SystemTime::now();
                    let (state, d) = res.create(&ctx, &planned, &config).await;
                    private = if state.is_some() && d.has_errors() {
                        // Terraform keeps it, tainted; a refresh must not take "not shown yet"
                        // for "deleted".
                        unconfirmed::mark(made_at)
                    } else {
                        // Made and seen (or nothing made): no mark may carry over from the plan.
                        unconfirmed::seen(&private)
                    };
                    (state.unwrap_or(Value::Null), d)
                } else {
                    let (state, d) = res.update(&ctx, &prior, &planned, &config).await;
                    (state.unwrap_or(prior), d)
                };
                let mut new_state = new_state;
                res.schema().block.null_write_only(&mut new_state);
                let identity = encode_identity(res.identity(&new_state), res.identity_type());
                Ok::<_, Diagnostics>((encode(&new_state, ty), identity, d, private))
            }
            .await;
            match result {
                Ok((state, identity, d, private)) => proto::apply_resource_change::Response {
                    new_state: Some(state),
                    private,
                    diagnostics: diags(&d),
                    new_identity: identity,
                    ..Default::default()
                },
                Err(d) => {
                    proto::apply_resource_change::Response { new_state: prior_state.clone(), diagnostics: diags(&d), ..Default::default() }
                }
            }
        };
        Ok(Response::new(
            guarded("ApplyResourceChange", work, |d| proto::apply_resource_change::Response {
                new_state: req.prior_state.clone(),
                diagnostics: diags(&d),
                ..Default::default()
            })
            .await,
        ))
    }

    async fn import_resource_state(
        &self,
        r: Request<proto::import_resource_state::Request>,
    ) -> Result<Response<proto::import_resource_state::Response>, Status> {
        let req = r.into_inner();
        let work = async {
            let result = async {
                let res = self.resource(&req.type_name)?;
                let ty = res.value_type();
                let id = req.id.trim();
                // `import { identity = { … } }` (Terraform 1.12+) sends the identity, no ID.
                let identity = decode_identity(req.identity.as_ref(), res.identity_type())?;
                let mut state = if id.is_empty() && !identity.is_null() {
                    res.import_by_identity(&self.ctx(), &identity).await?
                } else {
                    res.import(&self.ctx(), id).await?
                };
                res.schema().block.null_write_only(&mut state);
                Ok::<_, Diagnostics>(proto::import_resource_state::ImportedResource {
                    type_name: req.type_name.clone(),
                    state: Some(encode(&state, ty)),
                    identity: encode_identity(res.identity(&state), res.identity_type()),
                    ..Default::default()
                })
            }
            .await;
            match result {
                Ok(imported) => proto::import_resource_state::Response { imported_resources: vec![imported], ..Default::default() },
                Err(d) => proto::import_resource_state::Response { diagnostics: diags(&d), ..Default::default() },
            }
        };
        Ok(Response::new(
            guarded("ImportResourceState", work, |d| proto::import_resource_state::Response {
                diagnostics: diags(&d),
                ..Default::default()
            })
            .await,
        ))
    }

    async fn move_resource_state(
        &self,
        _r: Request<proto::move_resource_state::Request>,
    ) -> Result<Response<proto::move_resource_state::Response>, Status> {
        Err(Status::unimplemented("ibmqr does not support moving state between resource types"))
    }

    async fn read_data_source(
        &self,
        r: Request<proto::read_data_source::Request>,
    ) -> Result<Response<proto::read_data_source::Response>, Status> {
        let req = r.into_inner();
        let work = async {
            let result = async {
                let ds = self.data_source(&req.type_name)?;
                let ty = ds.value_type();
                let config = decode(req.config.as_ref(), ty)?;
                let state = ds.read(&self.ctx(), &config).await?;
                Ok::<_, Diagnostics>(encode(&state, ty))
            }
            .await;
            match result {
                Ok(state) => proto::read_data_source::Response { state: Some(state), ..Default::default() },
                Err(d) => proto::read_data_source::Response { diagnostics: diags(&d), ..Default::default() },
            }
        };
        Ok(Response::new(
            guarded("ReadDataSource", work, |d| proto::read_data_source::Response { diagnostics: diags(&d), ..Default::default() }).await,
        ))
    }

    async fn generate_resource_config(
        &self,
        r: Request<proto::generate_resource_config::Request>,
    ) -> Result<Response<proto::generate_resource_config::Response>, Status> {
        let req = r.into_inner();
        let work = async {
            let result = (|| {
                let res = self.resource(&req.type_name)?;
                let ty = res.value_type();
                let state = decode(req.state.as_ref(), ty)?;
                Ok::<_, Diagnostics>(encode(&res.generate_config(&state)?, ty))
            })();
            match result {
                Ok(config) => proto::generate_resource_config::Response { config: Some(config), diagnostics: vec![] },
                Err(d) => proto::generate_resource_config::Response { config: None, diagnostics: diags(&d) },
            }
        };
        Ok(Response::new(
            guarded("GenerateResourceConfig", work, |d| proto::generate_resource_config::Response { config: None, diagnostics: diags(&d) })
                .await,
        ))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        _r: Request<proto::validate_ephemeral_resource_config::Request>,
    ) -> Result<Response<proto::validate_ephemeral_resource_config::Response>, Status> {
        Err(Status::unimplemented("ibmqr has no ephemeral resources"))
    }

    async fn open_ephemeral_resource(
        &self,
        _r: Request<proto::open_ephemeral_resource::Request>,
    ) -> Result<Response<proto::open_ephemeral_resource::Response>, Status> {
        Err(Status::unimplemented("ibmqr has no ephemeral resources"))
    }

    async fn renew_ephemeral_resource(
        &self,
        _r: Request<proto::renew_ephemeral_resource::Request>,
    ) -> Result<Response<proto::renew_ephemeral_resource::Response>, Status> {
        Err(Status::unimplemented("ibmqr has no ephemeral resources"))
    }

    async fn close_ephemeral_resource(
        &self,
        _r: Request<proto::close_ephemeral_resource::Request>,
    ) -> Result<Response<proto::close_ephemeral_resource::Response>, Status> {
        Err(Status::unimplemented("ibmqr has no ephemeral resources"))
    }

    type ListResourceStream = ListStream;

    /// The whole list is fetched, then streamed: IBM's list APIs answer in pages anyway, and a
    /// failure then reaches Terraform as one error instead of a list cut short.
    async fn list_resource(&self, r: Request<proto::list_resource::Request>) -> Result<Response<Self::ListResourceStream>, Status> {
        use proto::list_resource::Event;
        let req = r.into_inner();
        let work = async {
            let result = async {
                let (list, res) = self.list_resource(&req.type_name)?;
                let config = decode(req.config.as_ref(), list.value_type())?;
                // Terraform sends the `list` block's limit, 100 unless set; never negative.
                let limit = usize::try_from(req.limit.max(0)).unwrap_or(usize::MAX);
                let (found, warnings) = list.list(&self.ctx(), &config, req.include_resource_object, limit).await?;
                let mut events: Vec<Event> = found
                    .into_iter()
                    .map(|object| Event {
                        identity: encode_identity(Some(object.identity), res.identity_type()),
                        display_name: object.display_name,
                        resource_object: object.state.map(|state| encode(&state, res.value_type())),
                        diagnostic: vec![],
                    })
                    .collect();
                if !warnings.is_empty() {
                    events.push(Event { diagnostic: diags(&warnings), ..Default::default() });
                }
                Ok::<_, Diagnostics>(events)
            }
            .await;
            result.unwrap_or_else(|d| vec![Event { diagnostic: diags(&d), ..Default::default() }])
        };
        let events = guarded("ListResource", work, |d| vec![Event { diagnostic: diags(&d), ..Default::default() }]).await;
        let stream: ListStream = Box::pin(futures::stream::iter(events.into_iter().map(Ok)));
        Ok(Response::new(stream))
    }

    async fn validate_list_resource_config(
        &self,
        r: Request<proto::validate_list_resource_config::Request>,
    ) -> Result<Response<proto::validate_list_resource_config::Response>, Status> {
        let req = r.into_inner();
        let work = async {
            let d = (|| {
                let (list, _) = self.list_resource(&req.type_name)?;
                let config = decode(req.config.as_ref(), list.value_type())?;
                Ok::<_, Diagnostics>(list.validate(&config))
            })()
            .unwrap_or_else(|d| d);
            proto::validate_list_resource_config::Response { diagnostics: diags(&d) }
        };
        Ok(Response::new(
            guarded("ValidateListResourceConfig", work, |d| proto::validate_list_resource_config::Response { diagnostics: diags(&d) })
                .await,
        ))
    }

    async fn get_functions(&self, _r: Request<proto::get_functions::Request>) -> Result<Response<proto::get_functions::Response>, Status> {
        // Asked while loading schemas by newer Terraform: an empty success, never an error.
        Ok(Response::new(Default::default()))
    }

    async fn call_function(&self, _r: Request<proto::call_function::Request>) -> Result<Response<proto::call_function::Response>, Status> {
        Err(Status::unimplemented("ibmqr has no provider functions"))
    }

    async fn stop_provider(&self, _r: Request<proto::stop_provider::Request>) -> Result<Response<proto::stop_provider::Response>, Status> {
        log::info!("StopProvider: cancelling in-flight operations");
        self.cancel.cancel();
        Ok(Response::new(proto::stop_provider::Response { error: String::new() }))
    }
}

/// A Terraform that does not announce write-only support (before 1.11) would store a
/// write-only value in plan and state: such a value is refused, on its attribute.
fn refuse_write_only(schema: &Schema, config: &Value) -> Diagnostics {
    let mut d = Diagnostics::new();
    for name in schema.block.write_only_set(config) {
        d.add_attr_error(
            crate::framework::AttributePath::attr(name),
            "Write-only attribute needs Terraform 1.11 or later",
            format!(
                "{name} is write-only: Terraform 1.11 and later pass it to the provider without storing it. This Terraform does not announce support for write-only attributes and would store the value in plan and state, so it is refused. Upgrade to Terraform 1.11 or later, or leave {name} out."
            ),
        );
    }
    d
}

fn server_capabilities() -> proto::ServerCapabilities {
    proto::ServerCapabilities {
        plan_destroy: false,
        // Terraform 1.6+ then asks for the schemas once per run and caches them (see
        // tests/e2e/schema_cache.rs); older versions ignore the capability.
        get_provider_schema_optional: true,
        move_resource_state: false,
        // Terraform 1.14+ then asks the provider for `plan -generate-config-out`; older versions
        // ignore the capability and write the configuration themselves.
        generate_resource_config: true,
    }
}
