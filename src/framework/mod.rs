//! The provider framework: values, models, schemas, diagnostics and the traits resources implement.
//! Knows nothing of protobuf (that is `plugin`) nor of IBM Cloud (that is `ibmcloud`).

pub mod diag;
pub mod model;
pub mod path;
pub mod plan;
pub mod resource;
pub mod schema;
pub mod timeouts;
pub mod value;

pub use diag::{Diagnostic, Diagnostics, Severity};
pub use model::{decode, from_value, from_value_with_unknowns, to_value, Tf};
pub use path::{AttributePath, PathStep};
pub use resource::{state_from, Ctx, DataSource, Plan, Provider, Resource, StateResult};
pub use schema::{Attribute, Block, NestedBlock, Nesting, Schema};
pub use value::{Type, Value};
