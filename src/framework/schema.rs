//! Schemas of the provider, its resources and data sources.
//!
//! Nested input is always a block and computed collections are `list(object(...))` attribute
//! types: Terraform 1.0.x mishandles nested-attribute (NestedType) schemas, so they are not offered.

use std::collections::BTreeMap;

use super::validate::{Check, Rule};
use super::value::{Type, Value};

#[derive(Clone, Debug, Default)]
pub struct Schema {
    pub version: i64,
    pub block: Block,
}

#[derive(Clone, Debug, Default)]
pub struct Block {
    pub description: String,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
    /// Constraints across this block's attributes.
    pub rules: Vec<Rule>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    /// Zero or one block; the value is an object or null.
    Single,
    /// Blocks in order; the value is a list of objects.
    List,
}

#[derive(Clone, Debug)]
pub struct NestedBlock {
    pub name: String,
    pub block: Block,
    pub nesting: Nesting,
    pub min_items: i64,
    pub max_items: i64,
}

#[derive(Clone, Debug, Default)]
pub struct Attribute {
    pub name: String,
    pub ty: Option<Type>,
    pub description: String,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    /// Terraform (1.11+) passes the value to the provider but never stores it in plan or state.
    pub write_only: bool,
    /// A change to this attribute replaces the remote object.
    pub force_new: bool,
    /// Planned when the configuration leaves the attribute out (makes it optional + computed).
    pub default: Option<Value>,
    /// Constraints on the value, checked in ValidateResourceConfig and stated in the docs.
    pub checks: Vec<Check>,
}

impl Attribute {
    fn new(name: &str, ty: Type) -> Self {
        Self { name: name.to_string(), ty: Some(ty), ..Default::default() }
    }
    pub fn string(name: &str) -> Self {
        Self::new(name, Type::String)
    }
    pub fn number(name: &str) -> Self {
        Self::new(name, Type::Number)
    }
    pub fn bool(name: &str) -> Self {
        Self::new(name, Type::Bool)
    }
    pub fn string_set(name: &str) -> Self {
        Self::new(name, Type::set(Type::String))
    }
    pub fn string_list(name: &str) -> Self {
        Self::new(name, Type::list(Type::String))
    }
    pub fn typed(name: &str, ty: Type) -> Self {
        Self::new(name, ty)
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
    pub fn computed(mut self) -> Self {
        self.computed = true;
        self
    }
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    /// Write-only (and sensitive): a Terraform that does not announce support for write-only
    /// attributes is refused a value at validation, since it would store it.
    pub fn write_only(mut self) -> Self {
        self.write_only = true;
        self.sensitive = true;
        self
    }
    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }
    /// Optional, with `value` planned when the configuration leaves it out.
    pub fn default(mut self, value: Value) -> Self {
        self.optional = true;
        self.computed = true;
        self.default = Some(value);
        self
    }
    pub fn describe(mut self, text: &str) -> Self {
        self.description = text.to_string();
        self
    }
    pub fn check(mut self, check: Check) -> Self {
        self.checks.push(check);
        self
    }

    pub fn ty(&self) -> Type {
        self.ty.clone().unwrap_or(Type::String)
    }
}

impl NestedBlock {
    pub fn list(name: &str, block: Block) -> Self {
        Self { name: name.to_string(), block, nesting: Nesting::List, min_items: 0, max_items: 0 }
    }
    pub fn single(name: &str, block: Block) -> Self {
        Self { name: name.to_string(), block, nesting: Nesting::Single, min_items: 0, max_items: 0 }
    }
    pub fn min_items(mut self, n: i64) -> Self {
        self.min_items = n;
        self
    }
    pub fn max_items(mut self, n: i64) -> Self {
        self.max_items = n;
        self
    }
}

impl Block {
    pub fn new(description: &str) -> Self {
        Self { description: description.to_string(), ..Default::default() }
    }
    pub fn attr(mut self, a: Attribute) -> Self {
        self.attributes.push(a);
        self
    }
    pub fn block(mut self, b: NestedBlock) -> Self {
        self.blocks.push(b);
        self
    }
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// The object type of this block's values.
    pub fn value_type(&self) -> Type {
        let mut attrs: BTreeMap<String, Type> = self.attributes.iter().map(|a| (a.name.clone(), a.ty())).collect();
        for b in &self.blocks {
            let inner = b.block.value_type();
            let t = match b.nesting {
                Nesting::Single => inner,
                Nesting::List => Type::List(Box::new(inner)),
            };
            attrs.insert(b.name.clone(), t);
        }
        Type::Object(attrs)
    }
}

impl Block {
    /// Sets every write-only attribute of `value` to null: what plans and states must hold.
    pub fn null_write_only(&self, value: &mut Value) {
        if value.is_null() || value.is_unknown() {
            return;
        }
        for a in self.attributes.iter().filter(|a| a.write_only) {
            value.set(&a.name, Value::Null);
        }
    }

    /// The write-only attributes that `config` sets.
    pub fn write_only_set<'a>(&'a self, config: &Value) -> Vec<&'a str> {
        self.attributes
            .iter()
            .filter(|a| a.write_only && config.get(&a.name).is_some_and(|v| !v.is_null()))
            .map(|a| a.name.as_str())
            .collect()
    }
}

impl Schema {
    pub fn new(version: i64, block: Block) -> Self {
        Self { version, block }
    }
    pub fn value_type(&self) -> Type {
        self.block.value_type()
    }
}
