//! The provider's types as the plugin layer sees them: values in and out, the schema and its
//! value type built once per process. [`resource`] and [`data_source`] wrap a typed
//! implementation; this is where Terraform values are decoded into models and encoded back.

use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::diag::Diagnostics;
use super::error::{OpError, OpResult};
use super::generate::config_from_state;
use super::identity::IdentitySchema;
use super::model::{decode, decode_json, from_value_with_unknowns, strip_unknown, to_json};
use super::path::AttributePath;
use super::plan::{default_plan, plan_new_object};
use super::resource::{Ctx, DataSource, Plan, Resource};
use super::schema::{Block, Nesting, Schema};
use super::validate::validate_block;
use super::value::{Type, Value};

/// A planned change as Terraform receives it.
pub struct Planned {
    pub planned: Value,
    pub requires_replace: Vec<AttributePath>,
    pub diagnostics: Diagnostics,
}

/// A resource type, values in and out. Implemented by [`resource`]'s wrapper.
#[async_trait]
pub trait AnyResource<S>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> &Schema;
    fn value_type(&self) -> &Type;
    /// Declared constraints, then the resource's own checks.
    fn validate(&self, config: &Value) -> Diagnostics;
    async fn plan(&self, ctx: &Ctx<S>, prior: Option<&Value>, config: &Value, proposed: &Value) -> Result<Planned, Diagnostics>;
    /// `Ok(None)`: the object is gone.
    async fn read(&self, ctx: &Ctx<S>, state: &Value) -> Result<Option<Value>, Diagnostics>;
    /// The state to save (None: nothing was made) and the diagnostics.
    async fn create(&self, ctx: &Ctx<S>, planned: &Value, config: &Value) -> (Option<Value>, Diagnostics);
    /// The state to save (None: keep the prior state) and the diagnostics.
    async fn update(&self, ctx: &Ctx<S>, prior: &Value, planned: &Value, config: &Value) -> (Option<Value>, Diagnostics);
    async fn delete(&self, ctx: &Ctx<S>, prior: &Value) -> Diagnostics;
    async fn import(&self, ctx: &Ctx<S>, id: &str) -> Result<Value, Diagnostics>;
    /// The identity's attributes and the object type of its values.
    fn identity_schema(&self) -> &IdentitySchema;
    fn identity_type(&self) -> &Type;
    /// The identity of a state, or of a planned state (its unknown parts stay unknown); None for
    /// a null state or one that lacks a part.
    fn identity(&self, state: &Value) -> Option<Value>;
    /// The state an identity names (`import { identity = { … } }`): imported by the import ID
    /// the identity spells.
    async fn import_by_identity(&self, ctx: &Ctx<S>, identity: &Value) -> Result<Value, Diagnostics>;
    /// A stored identity (JSON) of an older identity version, as a value of the current type.
    fn upgrade_identity(&self, from_version: i64, raw: &serde_json::Value) -> Result<Value, Diagnostics>;
    /// The configuration an imported state comes from, planning no changes when applied.
    fn generate_config(&self, state: &Value) -> Result<Value, Diagnostics>;
    fn upgrade_state(&self, from_version: i64, raw: serde_json::Value) -> Result<serde_json::Value, Diagnostics>;
}

/// A data source type, values in and out. Implemented by [`data_source`]'s wrapper.
#[async_trait]
pub trait AnyDataSource<S>: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> &Schema;
    fn value_type(&self) -> &Type;
    fn validate(&self, config: &Value) -> Diagnostics;
    async fn read(&self, ctx: &Ctx<S>, config: &Value) -> Result<Value, Diagnostics>;
}

/// Registers a resource: its schema is built here, once.
pub fn resource<S: Send + Sync + 'static, R: Resource<S>>(resource: R) -> Arc<dyn AnyResource<S>> {
    Arc::new(Typed { inner: resource, codec: resource_codec::<S, R>() })
}

/// A resource type's schema, identity and their value types, built from its declarations.
pub(super) fn resource_codec<S: Send + Sync + 'static, R: Resource<S>>() -> Codec {
    let schema = R::schema();
    let ty = schema.value_type();
    let identity = described(R::identity(), &schema);
    let identity_ty = identity.value_type();
    Codec { name: R::TYPE_NAME, schema, ty, identity, identity_ty }
}

/// An identity whose attributes without a description take their state attribute's.
fn described(mut identity: IdentitySchema, schema: &Schema) -> IdentitySchema {
    for attr in identity.attributes.iter_mut().filter(|a| a.description.is_empty()) {
        let source = attr.state_attribute().and_then(|(name, _)| schema.block.attribute(name));
        attr.description = source.map(|a| a.description.clone()).unwrap_or_default();
    }
    identity
}

/// Registers a data source: its schema is built here, once.
pub fn data_source<S: Send + Sync + 'static, D: DataSource<S>>(data_source: D) -> Arc<dyn AnyDataSource<S>> {
    let schema = D::schema();
    let ty = schema.value_type();
    // Data sources have no identity.
    let (identity, identity_ty) = (IdentitySchema::new(), Type::Object(Default::default()));
    Arc::new(Typed { inner: data_source, codec: Codec { name: D::TYPE_NAME, schema, ty, identity, identity_ty } })
}

struct Typed<T> {
    inner: T,
    codec: Codec,
}

/// A type's schema and value type, and the encoding that needs nothing else of the type: kept
/// out of the generic wrapper, so that it is compiled once, not once per type.
pub(super) struct Codec {
    name: &'static str,
    pub(super) schema: Schema,
    ty: Type,
    pub(super) identity: IdentitySchema,
    identity_ty: Type,
}

impl Codec {
    /// A model as a value of the schema's type. Every attribute must be a field of the model, so
    /// that none is silently dropped. Unknowns left in an applied state become null.
    fn encode_json(&self, json: serde_json::Value) -> Result<Value, Diagnostics> {
        if let Some(fields) = json.as_object() {
            let attrs = self.schema.block.attributes.iter().map(|a| &a.name).chain(self.schema.block.blocks.iter().map(|b| &b.name));
            if let Some(missing) = attrs.into_iter().find(|name| !fields.contains_key(name.as_str())) {
                return Err(Diagnostics::error(
                    "Internal error in the ibmqr provider",
                    format!("the model of {} has no field for attribute {missing:?}; please report this as a bug", self.name),
                ));
            }
        }
        Ok(Value::from_json(&json, &self.ty)?)
    }

    pub(super) fn encode_state<M: Serialize>(&self, model: &M) -> Result<Value, Diagnostics> {
        Ok(strip_unknown(&self.encode_json(to_json(model)?)?))
    }

    /// What a create or update saves after an error: the state the error carries, or else the
    /// one the resource saved on the way.
    fn state_after(&self, saved: Option<serde_json::Value>, error: &mut OpError) -> Option<Value> {
        let json = error.state.take().or(saved)?;
        match self.encode_json(json) {
            Ok(value) => Some(strip_unknown(&value)),
            Err(d) => {
                error.diagnostics.extend(d);
                None
            }
        }
    }
}

fn model_json<M: Serialize>(model: M) -> OpResult<serde_json::Value> {
    Ok(to_json(&model)?)
}

/// `new_object`, with each top-level attribute the resource changed from `base` as it planned it.
fn keep_changed(base: &Value, resource_planned: &Value, mut new_object: Value) -> Value {
    if let Value::Object(attrs) = resource_planned {
        for (name, value) in attrs {
            if base.get(name) != Some(value) {
                new_object.set(name, value.clone());
            }
        }
    }
    new_object
}

/// The declared constraints, then the type's own checks on its decoded model.
pub(super) fn validate_config<M: DeserializeOwned>(block: &Block, config: &Value, own_checks: impl Fn(&M) -> Diagnostics) -> Diagnostics {
    let mut diags = validate_block(block, config);
    match decode_unknowns::<M>(config) {
        Ok(model) => diags.extend(own_checks(&model)),
        Err(d) => diags.extend(d),
    }
    diags
}

/// Decodes a plan-time value, keeping unknowns as `Tf::Unknown`.
fn decode_unknowns<M: DeserializeOwned>(value: &Value) -> Result<M, Diagnostics> {
    Ok(from_value_with_unknowns(value)?)
}

/// A model with only `id` set: what [`Resource::import`] reads by default.
pub(crate) fn id_only(block: &Block, id: &str) -> serde_json::Value {
    let mut fields: serde_json::Map<String, serde_json::Value> =
        block.attributes.iter().map(|a| (a.name.clone(), serde_json::Value::Null)).collect();
    for nested in &block.blocks {
        let empty = match nested.nesting {
            Nesting::List => serde_json::Value::Array(vec![]),
            Nesting::Single => serde_json::Value::Null,
        };
        fields.insert(nested.name.clone(), empty);
    }
    fields.insert("id".to_string(), serde_json::Value::String(id.to_string()));
    serde_json::Value::Object(fields)
}

#[async_trait]
impl<S: Send + Sync + 'static, R: Resource<S>> AnyResource<S> for Typed<R> {
    fn type_name(&self) -> &'static str {
        R::TYPE_NAME
    }

    fn schema(&self) -> &Schema {
        &self.codec.schema
    }

    fn value_type(&self) -> &Type {
        &self.codec.ty
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        validate_config(&self.codec.schema.block, config, |model: &R::Model| self.inner.validate(model))
    }

    async fn plan(&self, ctx: &Ctx<S>, prior: Option<&Value>, config: &Value, proposed: &Value) -> Result<Planned, Diagnostics> {
        let (base_planned, requires_replace) = default_plan(&self.codec.schema.block, prior, config, proposed);
        let replacements_seen = requires_replace.len();
        let planned: R::Model = decode_unknowns(&base_planned)?;
        let before = to_json(&planned)?;
        let mut plan = Plan {
            prior: prior.map(decode::<R::Model>).transpose()?,
            config: decode_unknowns(config)?,
            planned,
            requires_replace,
            warnings: Diagnostics::new(),
        };
        if let Err(mut e) = self.inner.modify_plan(ctx, &mut plan).await {
            e.diagnostics.0.splice(0..0, plan.warnings.0);
            return Err(e.diagnostics);
        }
        // An unchanged model keeps the framework's value as it was, untouched by a round trip.
        let after = to_json(&plan.planned)?;
        let planned = if after == before { base_planned.clone() } else { self.codec.encode_json(after)? };
        // A replacement the resource decided on: what the new object computes is not known yet,
        // except what the resource itself planned for it.
        let planned = if plan.requires_replace.len() > replacements_seen {
            let mut new_object = base_planned.clone();
            plan_new_object(&self.codec.schema.block, config, &mut new_object);
            keep_changed(&base_planned, &planned, new_object)
        } else {
            planned
        };
        Ok(Planned { planned, requires_replace: plan.requires_replace, diagnostics: plan.warnings })
    }

    async fn read(&self, ctx: &Ctx<S>, state: &Value) -> Result<Option<Value>, Diagnostics> {
        let model = decode(state)?;
        let fresh = self.inner.read(ctx, model).await.map_err(|e| e.diagnostics)?;
        fresh.map(|m| self.codec.encode_state(&m)).transpose()
    }

    async fn create(&self, ctx: &Ctx<S>, planned: &Value, config: &Value) -> (Option<Value>, Diagnostics) {
        let created = async { self.inner.create(ctx, decode(planned)?, decode(config)?).await }.await;
        self.codec.applied(ctx.take_saved(), created.and_then(model_json))
    }

    async fn update(&self, ctx: &Ctx<S>, prior: &Value, planned: &Value, config: &Value) -> (Option<Value>, Diagnostics) {
        let updated = async { self.inner.update(ctx, decode(prior)?, decode(planned)?, decode(config)?).await }.await;
        self.codec.applied(ctx.take_saved(), updated.and_then(model_json))
    }

    async fn delete(&self, ctx: &Ctx<S>, prior: &Value) -> Diagnostics {
        let deleted = async { self.inner.delete(ctx, decode(prior)?).await }.await;
        deleted.err().map(|e| e.diagnostics).unwrap_or_default()
    }

    async fn import(&self, ctx: &Ctx<S>, id: &str) -> Result<Value, Diagnostics> {
        // Decoded by the same code as every other value of the model, so that no second copy of
        // the model's serde code is compiled for the stub.
        let stub: R::Model = decode_json(id_only(&self.codec.schema.block, id))
            .map_err(|e| Diagnostics::error("Internal error in the ibmqr provider", format!("cannot build the import stub: {e}")))?;
        match self.inner.import(ctx, id, stub).await.map_err(|e| e.diagnostics)? {
            Some(model) => self.codec.encode_state(&model),
            None => Err(self.inner.import_not_found(id).diagnostics),
        }
    }

    fn identity_schema(&self) -> &IdentitySchema {
        &self.codec.identity
    }

    fn identity_type(&self) -> &Type {
        &self.codec.identity_ty
    }

    fn identity(&self, state: &Value) -> Option<Value> {
        self.identity_schema().of_state(state)
    }

    async fn import_by_identity(&self, ctx: &Ctx<S>, identity: &Value) -> Result<Value, Diagnostics> {
        let id = self.identity_schema().import_id(R::TYPE_NAME, identity)?;
        self.import(ctx, &id).await
    }

    fn upgrade_identity(&self, from_version: i64, raw: &serde_json::Value) -> Result<Value, Diagnostics> {
        self.identity_schema().upgrade(R::TYPE_NAME, from_version, raw)
    }

    fn generate_config(&self, state: &Value) -> Result<Value, Diagnostics> {
        let generated = config_from_state(&self.codec.schema.block, state);
        if generated.is_null() {
            return Ok(generated);
        }
        let mut model: R::Model = decode(&generated)?;
        let before = to_json(&model)?;
        self.inner.refine_generated_config(&mut model);
        let after = to_json(&model)?;
        // Untouched by the type: the framework's value as it was, with its set order.
        if after == before {
            return Ok(generated);
        }
        self.codec.encode_json(after)
    }

    fn upgrade_state(&self, from_version: i64, raw: serde_json::Value) -> Result<serde_json::Value, Diagnostics> {
        self.inner.upgrade_state(from_version, raw).map_err(|e| e.diagnostics)
    }
}

impl Codec {
    /// The state and diagnostics of a create or update, from the model it returned as JSON.
    fn applied(&self, saved: Option<serde_json::Value>, result: OpResult<serde_json::Value>) -> (Option<Value>, Diagnostics) {
        match result {
            Ok(json) => match self.encode_json(json) {
                Ok(state) => (Some(strip_unknown(&state)), Diagnostics::new()),
                Err(d) => {
                    let mut error = OpError::from(d);
                    (self.state_after(saved, &mut error), error.diagnostics)
                }
            },
            Err(mut error) => (self.state_after(saved, &mut error), error.diagnostics),
        }
    }
}

#[async_trait]
impl<S: Send + Sync + 'static, D: DataSource<S>> AnyDataSource<S> for Typed<D> {
    fn type_name(&self) -> &'static str {
        D::TYPE_NAME
    }

    fn schema(&self) -> &Schema {
        &self.codec.schema
    }

    fn value_type(&self) -> &Type {
        &self.codec.ty
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        validate_config(&self.codec.schema.block, config, |model: &D::Model| self.inner.validate(model))
    }

    async fn read(&self, ctx: &Ctx<S>, config: &Value) -> Result<Value, Diagnostics> {
        let found = self.inner.read(ctx, decode(config)?).await.map_err(|e| e.diagnostics)?;
        self.codec.encode_state(&found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::schema::Attribute;
    use crate::framework::Tf;

    /// A type whose generated configuration writes `label` in capitals, through the hook.
    struct Shouting;

    #[derive(Serialize, serde::Deserialize, Clone, Debug)]
    struct Model {
        id: Tf<String>,
        label: Tf<String>,
    }

    #[async_trait]
    impl Resource<()> for Shouting {
        type Model = Model;
        const TYPE_NAME: &'static str = "test_shouting";
        fn schema() -> Schema {
            Schema::new(0, Block::new("t").attr(Attribute::string("id").computed()).attr(Attribute::string("label").optional()))
        }
        fn refine_generated_config(&self, config: &mut Model) {
            config.label = config.label.clone().map(|l| l.to_uppercase());
        }
        async fn create(&self, _ctx: &Ctx<()>, planned: Model, _config: Model) -> OpResult<Model> {
            Ok(planned)
        }
        async fn read(&self, _ctx: &Ctx<()>, state: Model) -> OpResult<Option<Model>> {
            Ok(Some(state))
        }
        async fn update(&self, _ctx: &Ctx<()>, _prior: Model, planned: Model, _config: Model) -> OpResult<Model> {
            Ok(planned)
        }
        async fn delete(&self, _ctx: &Ctx<()>, _prior: Model) -> OpResult<()> {
            Ok(())
        }
    }

    #[test]
    fn the_default_identity_is_the_id_and_the_hook_refines_generated_config() {
        let registered = resource(Shouting);
        let state = Value::from_json(&serde_json::json!({"id": "s-1", "label": "quiet"}), registered.value_type()).expect("state");
        assert_eq!(registered.identity(&state).map(|i| i.to_json()), Some(serde_json::json!({"id": "s-1"})));
        let config = registered.generate_config(&state).expect("config");
        assert_eq!(config.to_json(), serde_json::json!({"id": null, "label": "QUIET"}));
    }
}
