//! List resources (Terraform 1.14+): `list` blocks in `*.tfquery.hcl` files and `terraform query`,
//! which finds objects that exist at IBM and can write import blocks and configuration for them.
//!
//! A resource type becomes listable by implementing [`ListResource`] in its own file and
//! registering it with [`list_resource`]. The type declares the filters of the `list` block's
//! `config` block, and returns each object it finds as a full state of its model; the framework
//! derives the object's identity from that state with the type's identity schema, so that a listed
//! object imports exactly as `import { identity = … }` would.

use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::diag::Diagnostics;
use super::error::OpResult;
use super::model::decode;
use super::registry::{resource_codec, validate_config, Codec};
use super::resource::{Ctx, Resource};
use super::schema::Schema;
use super::value::{Type, Value};

/// One object a list found: a name for people, and its state as a read would return it.
pub struct Listed<M> {
    pub display_name: String,
    pub state: M,
}

/// What the `list` block asks for.
pub struct ListRequest<F> {
    /// The `config` block's filters.
    pub filter: F,
    /// Whether Terraform wants each object's state (`include_resource = true`). A type whose
    /// full state costs further requests may skip them when false, as long as the identity
    /// attributes are set.
    pub include_resource: bool,
    /// At most this many objects are used: a type may stop listing there.
    pub limit: usize,
}

/// A resource type whose objects can be listed.
#[async_trait]
pub trait ListResource<S: Send + Sync + 'static>: Resource<S> {
    /// The `config` block's model.
    type Filter: Serialize + DeserializeOwned + Clone + Send + Sync + 'static;

    /// The schema of the `list` block's `config` block: its filters, all optional.
    fn list_schema() -> Schema;

    /// Checks across filters that the schema cannot declare; unknown values must be skipped.
    fn validate_filter(&self, _filter: &Self::Filter) -> Diagnostics {
        Diagnostics::new()
    }

    /// The objects the filter matches, in a stable order. Objects that would be harmful to
    /// manage (IBM's built-in ones, the caller itself) are left out here.
    async fn list(&self, ctx: &Ctx<S>, request: ListRequest<Self::Filter>) -> OpResult<Vec<Listed<Self::Model>>>;
}

/// A listed object as Terraform receives it.
pub struct ListedValue {
    pub display_name: String,
    pub identity: Value,
    /// Set only when Terraform asked for the state.
    pub state: Option<Value>,
}

/// A list resource type, values in and out. Implemented by [`list_resource`]'s wrapper.
#[async_trait]
pub trait AnyListResource<S>: Send + Sync {
    fn type_name(&self) -> &'static str;
    /// The `config` block's schema.
    fn schema(&self) -> &Schema;
    fn value_type(&self) -> &Type;
    fn validate(&self, config: &Value) -> Diagnostics;
    /// The objects found, at most `limit`, and warnings about objects that could not be listed.
    async fn list(
        &self,
        ctx: &Ctx<S>,
        config: &Value,
        include_resource: bool,
        limit: usize,
    ) -> Result<(Vec<ListedValue>, Diagnostics), Diagnostics>;
}

/// Registers a list resource: its filter schema and the resource's own schema are built here,
/// once per process.
pub fn list_resource<S: Send + Sync + 'static, R: ListResource<S>>(resource: R) -> Arc<dyn AnyListResource<S>> {
    let schema = R::list_schema();
    let ty = schema.value_type();
    Arc::new(TypedList { inner: resource, schema, ty, codec: resource_codec::<S, R>() })
}

struct TypedList<R> {
    inner: R,
    schema: Schema,
    ty: Type,
    /// The resource's state schema and identity, to encode what the list found.
    codec: Codec,
}

#[async_trait]
impl<S: Send + Sync + 'static, R: ListResource<S>> AnyListResource<S> for TypedList<R> {
    fn type_name(&self) -> &'static str {
        R::TYPE_NAME
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn value_type(&self) -> &Type {
        &self.ty
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        // A list block without a `config` block sends null: no filter to check.
        if config.is_null() {
            return Diagnostics::new();
        }
        validate_config(&self.schema.block, config, |filter: &R::Filter| self.inner.validate_filter(filter))
    }

    async fn list(
        &self,
        ctx: &Ctx<S>,
        config: &Value,
        include_resource: bool,
        limit: usize,
    ) -> Result<(Vec<ListedValue>, Diagnostics), Diagnostics> {
        let filter: R::Filter = if config.is_null() { decode(&self.empty_filter())? } else { decode(config)? };
        let found = self.inner.list(ctx, ListRequest { filter, include_resource, limit }).await.map_err(|e| e.diagnostics)?;
        let mut listed = Vec::with_capacity(found.len().min(limit));
        let mut warnings = Diagnostics::new();
        for object in found.into_iter().take(limit) {
            let mut state = self.codec.encode_state(&object.state)?;
            self.codec.schema.block.null_write_only(&mut state);
            let Some(identity) = self.codec.identity.of_state(&state) else {
                warnings.add_warning(
                    "Object left out",
                    format!(
                        "{} {:?} was found but lacks what its identity needs; import it by ID instead.",
                        R::TYPE_NAME,
                        object.display_name
                    ),
                );
                continue;
            };
            listed.push(ListedValue { display_name: object.display_name, identity, state: include_resource.then_some(state) });
        }
        Ok((listed, warnings))
    }
}

impl<R> TypedList<R> {
    /// Every filter null: what a `list` block without `config` means.
    fn empty_filter(&self) -> Value {
        let Type::Object(fields) = &self.ty else { return Value::Null };
        Value::Object(fields.keys().map(|name| (name.clone(), Value::Null)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::error::OpResult;
    use crate::framework::schema::{Attribute, Block};
    use crate::framework::{IdentitySchema, Tf};
    use serde::Deserialize;

    /// Labels `a`, `b` and one without an ID, listed by a prefix filter.
    struct Labels;

    #[derive(Serialize, Deserialize, Clone, Debug)]
    struct Model {
        id: Tf<String>,
        text: Tf<String>,
    }

    #[derive(Serialize, Deserialize, Clone, Debug)]
    struct Filter {
        prefix: Tf<String>,
    }

    #[async_trait]
    impl Resource<()> for Labels {
        type Model = Model;
        const TYPE_NAME: &'static str = "test_label";
        fn schema() -> Schema {
            Schema::new(0, Block::new("t").attr(Attribute::string("id").computed()).attr(Attribute::string("text").optional()))
        }
        fn identity() -> IdentitySchema {
            IdentitySchema::new().attr("id", "The label's ID.")
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

    #[async_trait]
    impl ListResource<()> for Labels {
        type Filter = Filter;
        fn list_schema() -> Schema {
            Schema::new(0, Block::new("f").attr(Attribute::string("prefix").optional().check(crate::framework::Check::length(1, 5))))
        }
        async fn list(&self, _ctx: &Ctx<()>, request: ListRequest<Filter>) -> OpResult<Vec<Listed<Model>>> {
            let prefix = request.filter.prefix.into_option().unwrap_or_default();
            let all = [(Some("a-1"), "alpha"), (Some("b-1"), "beta"), (None, "nameless"), (Some("a-2"), "again")];
            Ok(all
                .into_iter()
                .filter(|(_, text)| text.starts_with(&prefix))
                .map(|(id, text)| Listed {
                    display_name: text.to_string(),
                    state: Model { id: id.map(str::to_string).into(), text: Tf::Known(text.to_string()) },
                })
                .collect())
        }
    }

    fn run(list: &dyn AnyListResource<()>, config: serde_json::Value, include: bool, limit: usize) -> (Vec<ListedValue>, Diagnostics) {
        let config = if config.is_null() { Value::Null } else { Value::from_json(&config, list.value_type()).expect("config") };
        let ctx = Ctx::new(None, tokio_util::sync::CancellationToken::new());
        futures::executor::block_on(list.list(&ctx, &config, include, limit)).expect("list")
    }

    #[test]
    fn listed_objects_carry_their_identity_and_their_state_only_when_asked() {
        let list = list_resource(Labels);
        let (found, warnings) = run(list.as_ref(), serde_json::Value::Null, false, 100);
        let ids: Vec<serde_json::Value> = found.iter().map(|f| f.identity.to_json()).collect();
        assert_eq!(ids, [serde_json::json!({"id": "a-1"}), serde_json::json!({"id": "b-1"}), serde_json::json!({"id": "a-2"})]);
        assert!(found.iter().all(|f| f.state.is_none()), "no state unless include_resource");
        assert_eq!(warnings.0.len(), 1, "the object without an ID is reported, not listed");

        let (found, _) = run(list.as_ref(), serde_json::json!({"prefix": "a"}), true, 1);
        assert_eq!(found.len(), 1, "the limit holds");
        assert_eq!(found[0].state.as_ref().map(Value::to_json), Some(serde_json::json!({"id": "a-1", "text": "alpha"})));
    }

    #[test]
    fn filters_are_validated_by_their_declared_checks() {
        let list = list_resource(Labels);
        let config = Value::from_json(&serde_json::json!({"prefix": "far too long"}), list.value_type()).expect("config");
        let diags = list.validate(&config);
        assert!(diags.has_errors());
        assert_eq!(diags.0[0].path.as_ref().map(ToString::to_string).as_deref(), Some("prefix"));
        assert!(!list.validate(&Value::Null).has_errors(), "no config block, nothing to check");
    }
}
