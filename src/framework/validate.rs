//! Constraints declared on the schema. ValidateResourceConfig checks them, and the generated docs
//! state them, so each is written once. Unknown and null values are skipped: they are checked
//! once they are known.

use regex::Regex;

use super::diag::Diagnostics;
use super::path::AttributePath;
use super::schema::{Attribute, Block, Nesting};
use super::timeouts::parse_duration;
use super::value::Value;

/// A constraint on one attribute's value.
#[derive(Clone, Debug)]
pub enum Check {
    /// Characters in a string.
    Length {
        min: usize,
        max: usize,
    },
    /// A pattern, with what it means in words (shown in errors and docs instead of the regex).
    Pattern {
        regex: Regex,
        means: String,
    },
    OneOf(Vec<String>),
    /// A whole number; `max: None` has no upper bound.
    WholeNumber {
        min: i64,
        max: Option<i64>,
    },
    /// An ID of IBM's, recognised by its prefix. `what` names it: "an access group ID".
    Prefix {
        prefixes: Vec<String>,
        what: String,
    },
    /// A Go-style duration such as "10m", of at most 24h.
    Duration,
    /// Elements of a list or set; `max: None` has no upper bound.
    Items {
        min: usize,
        max: Option<usize>,
    },
    /// A check of every element of a list or set.
    Each(Box<Check>),
}

impl Check {
    pub fn length(min: usize, max: usize) -> Self {
        Check::Length { min, max }
    }

    /// `pattern` is a fixed regex of the provider's; `means` says in words what it allows.
    pub fn pattern(pattern: &str, means: &str) -> Self {
        // The patterns are the provider's own constants; a unit test compiles every one.
        let regex = Regex::new(pattern).unwrap_or_else(|e| unreachable!("invalid built-in pattern {pattern:?}: {e}"));
        Check::Pattern { regex, means: means.to_string() }
    }

    pub fn one_of(values: &[&str]) -> Self {
        Check::OneOf(values.iter().map(ToString::to_string).collect())
    }

    pub fn whole_number(min: i64, max: i64) -> Self {
        Check::WholeNumber { min, max: Some(max) }
    }

    pub fn at_least(min: i64) -> Self {
        Check::WholeNumber { min, max: None }
    }

    pub fn prefix(prefixes: &[&str], what: &str) -> Self {
        Check::Prefix { prefixes: prefixes.iter().map(ToString::to_string).collect(), what: what.to_string() }
    }

    pub fn duration() -> Self {
        Check::Duration
    }

    pub fn items(min: usize, max: Option<usize>) -> Self {
        Check::Items { min, max }
    }

    pub fn each(check: Check) -> Self {
        Check::Each(Box::new(check))
    }

    /// The constraint in words, for the docs: "1 to 50 characters".
    pub fn describe(&self) -> String {
        match self {
            Check::Length { min, max } => format!("{min} to {max} characters"),
            Check::Pattern { means, .. } => means.clone(),
            Check::OneOf(values) => format!("one of {}", quoted_list(values, "or")),
            Check::WholeNumber { min, max: Some(max) } => format!("a whole number from {min} to {max}"),
            Check::WholeNumber { min, max: None } => format!("a whole number of at least {min}"),
            Check::Prefix { prefixes, what } => format!("{what}, starting with {}", quoted_list(prefixes, "or")),
            Check::Duration => "a duration such as `30s`, `10m` or `1h30m`, at most `24h`".to_string(),
            Check::Items { min, max: Some(max) } => format!("{min} to {max} elements"),
            Check::Items { min, max: None } => format!("at least {min} element{}", if *min == 1 { "" } else { "s" }),
            Check::Each(inner) => format!("each element {}", inner.describe()),
        }
    }

    /// Checks a known, non-null value; adds errors on `path` for `attr`.
    fn check(&self, attr: &str, path: &AttributePath, value: &Value, diags: &mut Diagnostics) {
        match (self, value) {
            (Check::Each(inner), Value::List(items)) => {
                for (i, item) in items.iter().enumerate().filter(|(_, v)| is_checkable(v)) {
                    inner.check(attr, &path.clone().then_index(i as i64), item, diags);
                }
            }
            // Set elements have no index Terraform can show: report on the attribute.
            (Check::Each(inner), Value::Set(items)) => {
                for item in items.iter().filter(|v| is_checkable(v)) {
                    inner.check(attr, path, item, diags);
                }
            }
            _ => {
                if let Some(detail) = self.problem(attr, value) {
                    let summary = if matches!(self, Check::Duration) { "Invalid duration".to_string() } else { format!("Invalid {attr}") };
                    diags.add_attr_error(path.clone(), summary, detail);
                }
            }
        }
    }

    /// What is wrong with `value`, in words, or None. A value of another type never reaches
    /// here: Terraform converts values to the schema's type first.
    fn problem(&self, attr: &str, value: &Value) -> Option<String> {
        match (self, value) {
            (Check::Length { min, max }, Value::String(s)) => {
                let n = s.chars().count();
                (!(*min..=*max).contains(&n)).then(|| format!("{attr} must be {min} to {max} characters long; it has {n}."))
            }
            (Check::Pattern { regex, means }, Value::String(s)) => {
                (!regex.is_match(s)).then(|| format!("{s:?} is not a valid {attr}: {}.", strip_ticks(means)))
            }
            (Check::OneOf(values), Value::String(s)) => {
                (!values.contains(s)).then(|| format!("{s:?} is not a valid {attr}; use one of: {}.", values.join(", ")))
            }
            (Check::WholeNumber { min, max }, Value::Number(n)) => {
                let whole = n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| f as i64));
                let in_range = whole.is_some_and(|w| w >= *min && max.is_none_or(|max| w <= max));
                (!in_range).then(|| format!("{attr} must be {}; it is {n}.", self.describe()))
            }
            (Check::Prefix { prefixes, what }, Value::String(s)) => (!prefixes.iter().any(|p| s.starts_with(p.as_str())))
                .then(|| format!("{s:?} is not {what}: it must start with {}.", plain_list(prefixes, "or"))),
            (Check::Duration, Value::String(s)) => parse_duration(s)
                .is_none()
                .then(|| format!("{s:?} is not a duration of at most 24h; write it like \"30s\", \"10m\" or \"1h30m\".")),
            (Check::Items { min, max }, Value::List(items) | Value::Set(items)) => {
                let n = items.len();
                (n < *min || max.is_some_and(|max| n > max)).then(|| format!("{attr} must have {}; it has {n}.", self.describe()))
            }
            _ => None,
        }
    }
}

/// A constraint across a block's attributes.
#[derive(Clone, Debug)]
pub enum Rule {
    /// At most one of these may be set.
    ConflictsWith(Vec<String>),
    /// Exactly one of these must be set; `hint` says how to choose.
    ExactlyOneOf { attrs: Vec<String>, hint: String },
}

impl Rule {
    pub fn conflicts_with(attrs: &[&str]) -> Self {
        Rule::ConflictsWith(attrs.iter().map(ToString::to_string).collect())
    }

    pub fn exactly_one_of(attrs: &[&str], hint: &str) -> Self {
        Rule::ExactlyOneOf { attrs: attrs.iter().map(ToString::to_string).collect(), hint: hint.to_string() }
    }

    pub fn attrs(&self) -> &[String] {
        match self {
            Rule::ConflictsWith(attrs) | Rule::ExactlyOneOf { attrs, .. } => attrs,
        }
    }

    /// The rule as the docs state it on `attr`, one of its attributes.
    pub fn describe_for(&self, attr: &str) -> String {
        let others: Vec<String> = self.attrs().iter().filter(|a| *a != attr).cloned().collect();
        match self {
            Rule::ConflictsWith(_) => format!("Conflicts with {}.", quoted_list(&others, "and")),
            Rule::ExactlyOneOf { attrs, .. } => format!("Exactly one of {} must be set.", quoted_list(attrs, "and")),
        }
    }

    fn check(&self, block: &Value, at: &AttributePath, diags: &mut Diagnostics) {
        let value = |name: &str| block.get(name).cloned().unwrap_or_default();
        let set: Vec<&String> = self.attrs().iter().filter(|a| !value(a).is_null() && !value(a).is_unknown()).collect();
        let any_unknown = self.attrs().iter().any(|a| value(a).is_unknown());
        let names = plain_list(self.attrs(), "or");
        if set.len() > 1 {
            let detail = format!("Set {names}, not {}.", if set.len() == 2 { "both" } else { "several" });
            diags.add_attr_error(at.clone().then_attr(set[1]), format!("Both {} and {}", set[0], set[1]), detail);
        } else if let Rule::ExactlyOneOf { attrs, hint } = self {
            if set.is_empty() && !any_unknown {
                let first = attrs.first().map(String::as_str).unwrap_or_default();
                diags.add_attr_error(at.clone().then_attr(first), format!("No {first}"), format!("Set {names}. {hint}").trim().to_string());
            }
        }
    }
}

/// Checks every declared constraint of `block` in `config`.
pub fn validate_block(block: &Block, config: &Value) -> Diagnostics {
    let mut diags = Diagnostics::new();
    check_block(block, config, &AttributePath::root(), &mut diags);
    diags
}

fn check_block(block: &Block, value: &Value, at: &AttributePath, diags: &mut Diagnostics) {
    if !is_checkable(value) {
        return;
    }
    for attr in &block.attributes {
        check_attribute(attr, value.get(&attr.name).unwrap_or(&Value::Null), &at.clone().then_attr(&attr.name), diags);
    }
    for rule in &block.rules {
        rule.check(value, at, diags);
    }
    for nested in &block.blocks {
        let inner = value.get(&nested.name).unwrap_or(&Value::Null);
        let path = at.clone().then_attr(&nested.name);
        match nested.nesting {
            Nesting::Single => check_block(&nested.block, inner, &path, diags),
            Nesting::List => {
                if is_checkable(inner) {
                    for (i, item) in inner.elements().iter().enumerate() {
                        check_block(&nested.block, item, &path.clone().then_index(i as i64), diags);
                    }
                }
            }
        }
    }
}

fn check_attribute(attr: &Attribute, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    if !is_checkable(value) {
        return;
    }
    for check in &attr.checks {
        check.check(&attr.name, path, value, diags);
    }
}

fn is_checkable(value: &Value) -> bool {
    !value.is_null() && !value.is_unknown()
}

/// "`a`, `b` or `c`", for docs.
fn quoted_list(items: &[String], last: &str) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    join_words(&quoted, last)
}

/// "\"a\", \"b\" or \"c\"", for error text.
fn plain_list(items: &[String], last: &str) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
    join_words(&quoted, last)
}

fn join_words(items: &[String], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., end] => format!("{} {last} {end}", init.join(", ")),
    }
}

/// Error text is plain: docs' backticks become quotes.
fn strip_ticks(text: &str) -> String {
    text.replace('`', "\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::schema::{Attribute, Block};

    fn block() -> Block {
        Block::new("t")
            .attr(Attribute::string("name").check(Check::pattern("^[A-Z][a-z]*$", "a capital letter, then small letters")))
            .attr(Attribute::string("display").check(Check::length(1, 5)))
            .attr(Attribute::number("hours").check(Check::whole_number(1, 24)))
            .attr(Attribute::string_list("ids").check(Check::items(1, None)).check(Check::each(Check::prefix(&["A-"], "an A ID"))))
            .attr(Attribute::string("plan"))
            .attr(Attribute::string("plan_id"))
            .rule(Rule::exactly_one_of(&["plan", "plan_id"], "Use plan."))
    }

    fn paths(json: serde_json::Value) -> Vec<String> {
        let value = Value::from_json(&json, &block().value_type()).expect("value");
        validate_block(&block(), &value).0.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect()
    }

    #[test]
    fn each_check_reports_on_its_attribute() {
        assert!(paths(serde_json::json!({"name": "Ab", "display": "x", "hours": 3, "ids": ["A-1"], "plan": "p"})).is_empty());
        let bad = paths(serde_json::json!({"name": "ab", "display": "", "hours": 2.5, "ids": ["A-1", "B-2"], "plan": "p"}));
        assert_eq!(bad, ["name", "display", "hours", "ids[1]"]);
        assert_eq!(paths(serde_json::json!({"ids": [], "plan": "p", "plan_id": "q"})), ["ids", "plan_id"]);
        assert_eq!(paths(serde_json::json!({})), ["plan"]);
    }

    #[test]
    fn unknowns_are_skipped() {
        let mut value = Value::from_json(&serde_json::json!({"name": "ab"}), &block().value_type()).expect("value");
        value.set("name", Value::Unknown);
        value.set("plan", Value::Unknown);
        assert!(validate_block(&block(), &value).is_empty());
    }

    #[test]
    fn docs_say_the_constraint_in_words() {
        assert_eq!(Check::length(1, 50).describe(), "1 to 50 characters");
        assert_eq!(Check::one_of(&["a", "b", "c"]).describe(), "one of `a`, `b` or `c`");
        assert_eq!(Check::at_least(0).describe(), "a whole number of at least 0");
    }
}
