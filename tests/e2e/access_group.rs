use serde_json::json;

use crate::custom_role::unwrap_record;
use crate::harness::{Emulator, Workspace};

const GROUP: &str = r#"
resource "ibmqr_access_group" "ml" {
  name        = "project-ml"
  description = "Machine learning project"
}
output "id"  { value = ibmqr_access_group.ml.id }
output "crn" { value = ibmqr_access_group.ml.crn }
"#;

pub fn groups(emu: &Emulator) -> Vec<serde_json::Value> {
    emu.objects("access_groups").into_iter().map(unwrap_record).collect()
}

fn group_id(ws: &Workspace) -> String {
    ws.output_json()["id"]["value"].as_str().expect("id output").to_string()
}

#[test]
fn create_update_import_and_destroy() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(GROUP);
    ws.apply_ok();
    let id = group_id(&ws);
    assert!(id.starts_with("AccessGroupId-"), "{id}");
    let stored = groups(&emu);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["name"], "project-ml");
    assert!(ws.output_json()["crn"]["value"].as_str().unwrap_or_default().ends_with(&format!("access-group:{id}")));
    ws.assert_no_changes();

    // Name and description change in place, same id.
    ws.write(&GROUP.replace("\"project-ml\"", "\"project-ml2\"").replace("Machine learning project", "ML"));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("1 to change") && plan.stdout.contains("0 to destroy"), "{}", plan.stdout);
    ws.apply_ok();
    let stored = groups(&emu);
    assert_eq!((stored[0]["name"].as_str(), stored[0]["description"].as_str()), (Some("project-ml2"), Some("ML")));
    assert_eq!(group_id(&ws), id);
    ws.assert_no_changes();

    // Removing the description clears it.
    ws.write(&GROUP.replace("\"project-ml\"", "\"project-ml2\"").replace("  description = \"Machine learning project\"\n", ""));
    ws.apply_ok();
    assert_eq!(groups(&emu)[0]["description"], "");
    ws.assert_no_changes();

    // Import into a fresh configuration, then no changes.
    let adopter = Workspace::new(&emu);
    adopter.write(
        r#"
resource "ibmqr_access_group" "ml" {
  name = "project-ml2"
}
"#,
    );
    adopter.import_ok("ibmqr_access_group.ml", &id);
    adopter.assert_no_changes();

    ws.destroy_ok();
    assert!(groups(&emu).is_empty(), "destroy leaves no group");
}

#[test]
fn drift_is_detected() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(GROUP);
    ws.apply_ok();
    let id = group_id(&ws);

    emu.admin("PATCH", &format!("/_emulator/objects/access_groups/{id}"), Some(json!({"description": "changed by hand"})));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("1 to change"), "{}", plan.stdout);
    ws.apply_ok();
    assert_eq!(groups(&emu)[0]["description"], "Machine learning project");
    ws.assert_no_changes();

    emu.admin("DELETE", &format!("/_emulator/objects/access_groups/{id}"), None);
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("1 to add"), "{}", plan.stdout);
    ws.apply_ok();
    assert_eq!(groups(&emu).len(), 1);
    ws.assert_no_changes();
}

#[test]
fn duplicate_name_reports_id_and_import_command() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(GROUP);
    ws.apply_ok();
    let id = group_id(&ws);
    let other = Workspace::new(&emu);
    other.write(&GROUP.replace("\"project-ml\"", "\"Project-ML\""));
    let out = other.apply();
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("already exists") && out.stderr.contains(&id), "{}", out.stderr);
    assert!(out.stderr.contains(&format!("terraform import ibmqr_access_group.<name> {id}")), "{}", out.stderr);
    assert_eq!(groups(&emu).len(), 1);
}

#[test]
fn invalid_name_fails_at_plan() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&GROUP.replace("\"project-ml\"", &format!("\"{}\"", "x".repeat(101))));
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(plan.stderr.contains("Invalid name") && plan.stderr.contains("name"), "{}", plan.stderr);
    assert!(groups(&emu).is_empty());
}

#[test]
fn data_source_finds_a_group_by_name() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(GROUP);
    ws.apply_ok();
    let id = group_id(&ws);
    let reader = Workspace::new(&emu);
    reader.write(
        r#"
data "ibmqr_access_group" "g" {
  name = "PROJECT-ML"
}
output "id"   { value = data.ibmqr_access_group.g.id }
output "desc" { value = data.ibmqr_access_group.g.description }
"#,
    );
    reader.apply_ok();
    let out = reader.output_json();
    assert_eq!(out["id"]["value"], json!(id));
    assert_eq!(out["desc"]["value"], "Machine learning project");

    reader.write(
        r#"
data "ibmqr_access_group" "g" {
  name = "no-such-group"
}
"#,
    );
    let plan = reader.plan();
    assert_eq!(plan.code, 1);
    assert!(plan.stderr.contains("Access group not found"), "{}", plan.stderr);
}

#[test]
fn consistency_lag_is_waited_out() {
    let emu = Emulator::start();
    emu.admin("PUT", "/_emulator/lag", Some(json!({"seconds": 1.0})));
    let ws = Workspace::new(&emu);
    ws.write(&format!(
        "{GROUP}{}",
        r#"
resource "ibmqr_access_group_members" "m" {
  access_group_id = ibmqr_access_group.ml.id
  iam_ids         = ["IBMid-alice"]
}
resource "ibmqr_access_group_dynamic_rule" "r" {
  access_group_id  = ibmqr_access_group.ml.id
  name             = "ml"
  realm            = "appid://realm"
  expiration_hours = 1
  condition {
    claim    = "project"
    operator = "EQUALS"
    value    = "ml"
  }
}
resource "ibmqr_access_group" "invited" {
  name = "invited"
}
resource "ibmqr_user_invite" "u" {
  email            = "lag@example.edu"
  access_group_ids = [ibmqr_access_group.invited.id]
}
"#
    ));
    ws.apply_ok();
    ws.assert_no_changes();
}
