//! The `timeouts` block (`create = "20m"` ...) and duration parsing.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::model::Tf;
use super::schema::{Attribute, Block, NestedBlock};
use super::validate::Check;

pub fn timeouts_block(operations: &[&str]) -> NestedBlock {
    let mut block = Block::new("How long each operation may take, as a Go-style duration such as \"30s\", \"10m\" or \"1h30m\".");
    for op in operations {
        block = block.attr(Attribute::string(op).optional().check(Check::duration()).describe(&format!("Time limit for {op}.")));
    }
    NestedBlock::single("timeouts", block)
}

/// The `timeouts` block as a model field: absent, or a time limit per operation.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(transparent)]
pub struct Timeouts(Option<BTreeMap<String, Tf<String>>>);

impl Timeouts {
    /// The configured limit for `op`, or `default`.
    pub fn limit(&self, op: &str, default: Duration) -> Duration {
        self.0.as_ref().and_then(|ops| ops.get(op)).and_then(Tf::known).and_then(|text| parse_duration(text)).unwrap_or(default)
    }
}

/// Parses "90s", "10m", "1h30m", "500ms".
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let amount: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ms" => amount / 1000.0,
            "s" => amount,
            "m" => amount * 60.0,
            "h" => amount * 3600.0,
            _ => return None,
        };
        total = total.checked_add(Duration::try_from_secs_f64(seconds).ok()?)?;
        rest = &rest[unit_len..];
    }
    // Longer limits are surely typos, and would overflow clock arithmetic if huge.
    (total <= MAX_TIMEOUT).then_some(total)
}

/// The longest time limit a `timeouts` block accepts.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_style_durations() {
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("ten"), None);
        assert_eq!(parse_duration("10x"), None);
        // Huge values are refused, never an overflow panic.
        assert_eq!(parse_duration("99999999999999999999h"), None);
        assert_eq!(parse_duration("4000000000000000h"), None);
        assert_eq!(parse_duration("25h"), None);
        assert_eq!(parse_duration("24h"), Some(MAX_TIMEOUT));
    }
}
