//! Plan-time checks of IBM's rules for names and regions that resources and their data sources
//! share: each rule is written here once.

use crate::framework::{AttributePath, Diagnostics, Value};

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

/// An access group's `name`: 1 to 100 characters, not blank.
pub fn check_access_group_name(config: &Value, diags: &mut Diagnostics) {
    if let Some(Value::String(name)) = config.get("name") {
        let n = name.chars().count();
        if n == 0 || n > 100 || name.trim().is_empty() {
            diags.add_attr_error(
                AttributePath::attr("name"),
                "Invalid access group name",
                format!("name must be 1 to 100 characters and not blank; it has {n}."),
            );
        }
    }
}

/// A resource group's `name`: 1 to 40 characters, without leading or trailing spaces.
pub fn check_resource_group_name(name: &str, diags: &mut Diagnostics) {
    let n = name.chars().count();
    if name.trim().is_empty() || name.trim() != name || n > 40 {
        diags.add_attr_error(
            AttributePath::attr("name"),
            "Invalid resource group name",
            format!("{name:?} is not a usable group name: 1 to 40 characters, without leading or trailing spaces."),
        );
    }
}
