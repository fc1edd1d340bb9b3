//! A create must never lose what it made: when a step after the request that makes the object
//! fails (a visibility wait, tagging, a membership change, ...), the apply fails, but state
//! records the object with its real id, and the next apply, the fault gone, leaves exactly one
//! object and converges.
//!
//! Terraform taints an object whose create failed, so the second apply replaces it (destroys it,
//! then creates it again); the tests check that this leaves no second object behind.
//!
//! Not covered, because their create has no later step that could fail after something was made:
//! - `ibmqr_account_settings`: the settings exist with the account; create reads them and writes
//!   the configured ones with one PUT, after which nothing else happens. A failed PUT made nothing.

use std::time::Duration;

use crate::harness::{assert_failed_create_kept_then_converges, Emulator, Workspace};

/// A 403 is never retried, so it fails the step it hits at once.
const FORBIDDEN: u16 = 403;

fn ids(objects: Vec<serde_json::Value>) -> Vec<String> {
    objects.iter().map(|o| o["id"].as_str().expect("stored id").to_string()).collect()
}

/// The workspace's configuration applied with the fault or lag already set up: it must fail, and
/// say it failed at `step` (so in the step after the object was made, not in the create request).
fn apply_fails_at(ws: &Workspace, step: &str) {
    let out = ws.apply_fails();
    let said = out.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(said.contains(step), "the apply failed elsewhere than {step:?}:\n{}", out.all());
}

#[test]
fn custom_role_whose_visibility_wait_fails() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(
        r#"
resource "ibmqr_custom_role" "member" {
  name         = "QiskitRuntimeUser"
  display_name = "Qiskit Runtime user"
  actions      = ["quantum-computing.job.read"]
}
"#,
    );
    emu.fail_requests("GET /v2/roles/{id}", FORBIDDEN, 1);
    apply_fails_at(&ws, "waiting for custom role");
    assert_failed_create_kept_then_converges(&emu, &ws, "ibmqr_custom_role.member", || ids(emu.stored("roles")));
}

#[test]
fn access_group_whose_visibility_wait_fails() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write("resource \"ibmqr_access_group\" \"ml\" {\n  name = \"project-ml\"\n}\n");
    emu.fail_requests("GET /v2/groups/{id}", FORBIDDEN, 1);
    apply_fails_at(&ws, "waiting for access group");
    assert_failed_create_kept_then_converges(&emu, &ws, "ibmqr_access_group.ml", || ids(emu.stored("access_groups")));
}

#[test]
fn access_group_policy_whose_visibility_wait_fails() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(
        r#"
resource "ibmqr_access_group" "ml" {
  name = "project-ml"
}
resource "ibmqr_access_group_policy" "ml" {
  access_group_id = ibmqr_access_group.ml.id
  roles           = ["Viewer", "Reader"]
  resource {}
}
"#,
    );
    emu.fail_requests("GET /v1/policies/{id}", FORBIDDEN, 1);
    apply_fails_at(&ws, "waiting for access group policy");
    assert_failed_create_kept_then_converges(&emu, &ws, "ibmqr_access_group_policy.ml", || ids(emu.stored("policies")));
}

/// The new group stays invisible longer than `timeouts.create` allows.
#[test]
fn resource_group_whose_visibility_wait_times_out() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write("resource \"ibmqr_resource_group\" \"lab\" {\n  name = \"lab\"\n  timeouts {\n    create = \"1s\"\n  }\n}\n");
    emu.set_visibility_lag(3.0);
    apply_fails_at(&ws, "waiting for resource group");
    // Past the lag, reads see the group, as they would on IBM a while later.
    emu.set_visibility_lag(0.0);
    emu.wait_until_all_visible("resource_groups");
    let made = || ids(emu.stored("resource_groups").into_iter().filter(|g| g["default"] != true).collect());
    assert_failed_create_kept_then_converges(&emu, &ws, "ibmqr_resource_group.lab", made);
}

/// Live instances by CRN, which state holds as the id; purged ones stay stored as `removed`.
fn live_instances(emu: &Emulator) -> Vec<String> {
    let live = emu.stored("instances").into_iter().filter(|i| i["state"] == "active" || i["state"] == "provisioning");
    live.map(|i| i["crn"].as_str().expect("crn").to_string()).collect()
}

const INSTANCE: &str = r#"
resource "ibmqr_instance" "qr" {
  name             = "qr-main"
  plan             = "open"
  region           = "us-east"
  purge_on_destroy = true
  timeouts {
    create = "1s"
  }
}
"#;

/// The instance is still provisioning when `timeouts.create` runs out.
#[test]
fn instance_whose_wait_for_active_times_out() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(INSTANCE);
    // With a lag L the instance is invisible for L and active only after 2·L.
    emu.set_visibility_lag(1.5);
    apply_fails_at(&ws, "waiting for instance");
    emu.set_visibility_lag(0.0);
    emu.wait_until_all_visible("instances");
    std::thread::sleep(Duration::from_millis(1600));
    assert_failed_create_kept_then_converges(&emu, &ws, "ibmqr_instance.qr", || live_instances(&emu));
}

/// The instance is active, but attaching its tags fails.
#[test]
fn instance_whose_tagging_fails() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&INSTANCE.replace("  purge_on_destroy", "  tags             = [\"env:dev\"]\n  purge_on_destroy"));
    emu.fail_requests("POST /v3/tags/attach", FORBIDDEN, 1);
    apply_fails_at(&ws, "attaching tags");
    assert_failed_create_kept_then_converges(&emu, &ws, "ibmqr_instance.qr", || live_instances(&emu));
    let tags: Vec<serde_json::Value> = emu.stored("tags");
    assert_eq!(tags.len(), 1, "the tags are attached once the fault is gone: {tags:?}");
    assert_eq!(tags[0]["tags"], serde_json::json!(["env:dev"]));
}
