//! Plan-time checks of IBM's rules for names and regions that resources and their data sources
//! share: each rule is written here once.

use crate::framework::{Attribute, AttributePath, Check, Diagnostics};

/// The regions where Qiskit Runtime instances live.
pub const QISKIT_REGIONS: [&str; 2] = ["us-east", "eu-de"];

/// The one region where the `open` plan is offered.
pub const OPEN_PLAN_REGION: &str = "us-east";

/// Whether a Qiskit Runtime instance of `plan` (when known) can live in `region`. `whose` says
/// where the region came from when the user did not write it (` (the provider's region)`).
pub fn check_qiskit_region(region: &str, plan: Option<&str>, whose: &str, diags: &mut Diagnostics) {
    if !QISKIT_REGIONS.contains(&region) {
        diags.add_attr_error(
            AttributePath::attr("region"),
            "Unknown region",
            format!("{region:?}{whose}: Qiskit Runtime instances live in {}; set region to one of them.", QISKIT_REGIONS.join(" or ")),
        );
    } else if plan == Some("open") && region != OPEN_PLAN_REGION {
        diags.add_attr_error(
            AttributePath::attr("region"),
            "Open plan not in this region",
            format!(
                "the open plan is only offered in {OPEN_PLAN_REGION}, not in {region}{whose}; use region = \"{OPEN_PLAN_REGION}\" or another plan."
            ),
        );
    }
}

/// Unicode's White_Space characters as the inside of a regex class: the regex crate is built
/// without Unicode tables, so `\s` is not available (see Cargo.toml).
pub const WHITESPACE_CLASS: &str = r"\t\n\x0B\x0C\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}";

/// IBM's rule for an access group's `name`, for the resource and its data source.
pub fn with_access_group_name_checks(name: Attribute) -> Attribute {
    name.check(Check::length(1, 100)).check(Check::pattern(&format!("[^{WHITESPACE_CLASS}]"), "not only spaces"))
}

/// IBM's rule for a resource group's `name`, for the resource and its data source.
pub fn with_resource_group_name_checks(name: Attribute) -> Attribute {
    let pattern = format!(r"^[^{WHITESPACE_CLASS}](?:(?s:.*)[^{WHITESPACE_CLASS}])?$");
    name.check(Check::length(1, 40)).check(Check::pattern(&pattern, "without leading or trailing spaces"))
}
