//! An apply that fails halfway: after the first, every `POST /v2/groups` fails for good (a 500,
//! so each is an unknown outcome the provider looks up and retries). State must then list
//! exactly the objects that exist, and the next apply, the fault lifted, must finish the job
//! without duplicates.

use std::collections::BTreeSet;

use crate::harness::{Emulator, Fault, Workspace, BOT_SERVICE_ID, PROVIDER_REQUIREMENT};
use crate::identity::stored;

const PUBLIC_ACCESS: &str = "AccessGroupId-PublicAccess";

/// Three project groups, the CI service ID in each, and a role that needs no group. Few retries,
/// so that the failing creates give up quickly.
fn config() -> String {
    format!(
        r#"{PROVIDER_REQUIREMENT}
provider "ibmqr" {{
  max_retries = 2
}}

locals {{
  projects = toset(["bio", "chem", "ml"])
}}

resource "ibmqr_access_group" "project" {{
  for_each = local.projects
  name     = "halfway-${{each.key}}"
}}

resource "ibmqr_access_group_member" "ci" {{
  for_each        = local.projects
  access_group_id = ibmqr_access_group.project[each.key].id
  iam_id          = "{BOT_SERVICE_ID}"
}}

resource "ibmqr_custom_role" "member" {{
  name         = "HalfwayMember"
  display_name = "Halfway member"
  actions      = ["quantum-computing.job.read"]
}}
"#
    )
}

/// The emulator's access groups (IBM's Public Access group aside), by ID.
fn groups_at_ibm(emu: &Emulator) -> BTreeSet<String> {
    emu.stored("access_groups").iter().filter_map(|g| g["id"].as_str()).filter(|id| *id != PUBLIC_ACCESS).map(String::from).collect()
}

/// The IDs of one type's objects in state.
fn in_state(ws: &Workspace, kind: &str, attribute: &str) -> BTreeSet<String> {
    stored(ws).values().filter(|o| o.kind == kind).filter_map(|o| o.attributes[attribute].as_str().map(String::from)).collect()
}

#[test]
fn state_tells_the_truth_after_a_halfway_failure_and_the_next_apply_finishes_without_duplicates() {
    let emu = Emulator::start();
    emu.inject_fault(Fault::new("POST /v2/groups", 500, 1000).after(1));
    let ws = Workspace::new(&emu);
    ws.write_raw(&config());
    let failed = ws.apply();
    assert_ne!(failed.code, 0, "two of three group creates fail:\n{}", failed.all());

    let groups = groups_at_ibm(&emu);
    assert_eq!(groups.len(), 1, "only the first create went through: {groups:?}");
    assert_eq!(in_state(&ws, "ibmqr_access_group", "id"), groups, "state lists exactly the group that exists");
    let group = groups.iter().next().expect("one group");
    let members_in_state = in_state(&ws, "ibmqr_access_group_member", "id");
    let members_at_ibm: BTreeSet<String> = emu.members_of(group).into_iter().map(|iam_id| format!("{group}/{iam_id}")).collect();
    assert_eq!(members_in_state, members_at_ibm, "state lists exactly the memberships that exist");
    let roles_at_ibm: BTreeSet<String> =
        emu.stored("roles").iter().filter(|r| r["name"] == "HalfwayMember").filter_map(|r| r["id"].as_str().map(String::from)).collect();
    assert_eq!(in_state(&ws, "ibmqr_custom_role", "id"), roles_at_ibm, "the role, which needs no group, exists and is in state");

    emu.clear_faults();
    ws.apply_ok();
    let groups = groups_at_ibm(&emu);
    let names: BTreeSet<String> = emu
        .stored("access_groups")
        .iter()
        .filter(|g| g["id"] != PUBLIC_ACCESS)
        .filter_map(|g| g["name"].as_str().map(String::from))
        .collect();
    assert_eq!(groups.len(), 3, "no group twice: {names:?}");
    assert_eq!(names, ["halfway-bio", "halfway-chem", "halfway-ml"].map(String::from).into_iter().collect());
    for group in &groups {
        assert_eq!(emu.members_of(group), [BOT_SERVICE_ID], "the service ID once in {group}");
    }
    assert_eq!(emu.stored("roles").iter().filter(|r| r["name"] == "HalfwayMember").count(), 1, "the role once");
    ws.assert_no_changes();
}
