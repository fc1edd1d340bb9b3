//! The provider framework: values, models, schemas, declared validation, diagnostics, the typed
//! traits resources implement and the registry that serves them to the plugin layer.
//! Knows nothing of protobuf (that is `plugin`) nor of IBM Cloud (that is `ibmcloud`).

pub mod diag;
pub mod docs;
pub mod error;
pub mod generate;
pub mod identity;
pub mod list;
pub mod model;
pub mod path;
pub mod plan;
pub mod registry;
pub mod resource;
pub mod schema;
pub mod timeouts;
pub mod unconfirmed;
pub mod validate;
pub mod value;

pub use diag::{Diagnostic, Diagnostics, Severity};
pub use error::{Context, OpError, OpResult};
pub use identity::IdentitySchema;
pub use list::{list_resource, AnyListResource, ListRequest, ListResource, Listed, ListedValue};
pub use model::{decode, from_value, from_value_with_unknowns, to_value, Tf};
pub use path::{AttributePath, PathStep};
pub use registry::{data_source, resource, AnyDataSource, AnyResource};
pub use resource::{Ctx, DataSource, Plan, Provider, Resource};
pub use schema::{Attribute, Block, NestedBlock, Nesting, Schema};
pub use timeouts::Timeouts;
pub use validate::{Check, Rule};
pub use value::{Type, Value};
