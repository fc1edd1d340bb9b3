//! The error of a resource or data source operation: what Terraform shows, and, when the
//! operation made or changed an object before failing, the state that records it.

use std::fmt::Display;

use serde::Serialize;

use super::diag::Diagnostics;
use super::path::AttributePath;
use super::value::ValueError;

/// A failed operation. Named so as not to be confused with the client's own `Failure`.
#[derive(Debug, Default)]
pub struct OpError {
    pub diagnostics: Diagnostics,
    /// The object as it stands at IBM after the failure, encoded from the resource's model; the
    /// framework saves it so that state tells the truth.
    pub(crate) state: Option<serde_json::Value>,
}

impl OpError {
    pub fn new(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Diagnostics::error(summary, detail).into()
    }

    /// An error on one attribute of the configuration.
    pub fn at(path: AttributePath, summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Diagnostics::attr_error(path, summary, detail).into()
    }

    /// The same error, saving `model` as the object's state.
    pub fn keeping<M: Serialize>(mut self, model: &M) -> Self {
        self.state = super::model::to_json(model).ok();
        self
    }
}

impl From<Diagnostics> for OpError {
    fn from(diagnostics: Diagnostics) -> Self {
        Self { diagnostics, state: None }
    }
}

impl From<ValueError> for OpError {
    fn from(e: ValueError) -> Self {
        Diagnostics::from(e).into()
    }
}

/// What an operation returns: `?` converts diagnostics, value errors and, with
/// [`Context::context`], errors of the layers below.
pub type OpResult<T> = Result<T, OpError>;

/// Names what was being done when a lower layer failed: `.context("creating custom role R")`.
/// Implemented where a layer's errors meet the framework (see `configured`).
pub trait Context<T> {
    fn context(self, doing: impl Display) -> OpResult<T>;
}

impl Diagnostics {
    /// `Err` if any of these is an error; for checks that collect several before failing.
    pub fn into_result(self) -> OpResult<()> {
        if self.has_errors() {
            return Err(self.into());
        }
        Ok(())
    }
}
