use serde_json::json;
use terraform_provider_ibmqr::emulator::PUBLIC_ACCESS_ID;

use crate::harness::{access_group_resource, planned_before_and_after, Emulator, Workspace};

const GROUP: &str = "ibmqr_access_group.ml";

/// The access group `ml` with its ID and CRN as outputs.
fn group_config(name: &str, description: Option<&str>) -> String {
    format!(
        "{}output \"id\"  {{ value = ibmqr_access_group.ml.id }}\noutput \"crn\" {{ value = ibmqr_access_group.ml.crn }}\n",
        access_group_resource("ml", name, description)
    )
}

fn ml_group_config() -> String {
    group_config("project-ml", Some("Machine learning project"))
}

/// The account's groups but IBM's built-in Public Access group.
fn groups(emu: &Emulator) -> Vec<serde_json::Value> {
    emu.stored("access_groups").into_iter().filter(|g| g["id"] != PUBLIC_ACCESS_ID).collect()
}

fn group_id(ws: &Workspace) -> String {
    ws.output_json()["id"]["value"].as_str().expect("id output").to_string()
}

#[test]
fn create_update_import_and_destroy() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&ml_group_config());
    ws.apply_ok();
    let outputs = ws.output_json();
    let id = outputs["id"]["value"].as_str().expect("id output").to_string();
    assert!(id.starts_with("AccessGroupId-"), "{id}");
    let stored = groups(&emu);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["name"], "project-ml");
    assert!(outputs["crn"]["value"].as_str().unwrap_or_default().ends_with(&format!("access-group:{id}")));
    ws.assert_no_changes();

    // Name and description change in place, same id.
    ws.write(&group_config("project-ml2", Some("ML")));
    ws.plan_changes_exactly(&[(GROUP, &["update"])]);
    ws.apply_ok();
    let stored = groups(&emu);
    assert_eq!((stored[0]["name"].as_str(), stored[0]["description"].as_str()), (Some("project-ml2"), Some("ML")));
    assert_eq!(group_id(&ws), id);
    ws.assert_no_changes();

    // Removing the description clears it.
    ws.write(&group_config("project-ml2", None));
    ws.apply_ok();
    assert_eq!(groups(&emu)[0]["description"], "");
    ws.assert_no_changes();

    // Import into a fresh configuration, then no changes.
    let adopter = Workspace::new(&emu);
    adopter.write(&access_group_resource("ml", "project-ml2", None));
    adopter.import_ok(GROUP, &id);
    adopter.assert_no_changes();

    ws.destroy_ok();
    assert!(groups(&emu).is_empty(), "destroy leaves no group");
}

#[test]
fn drift_is_detected() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&ml_group_config());
    ws.apply_ok();
    let id = group_id(&ws);

    emu.patch_object("access_groups", &id, json!({"description": "changed by hand"}));
    let plan = ws.plan_changes_exactly(&[(GROUP, &["update"])]);
    assert_eq!(planned_before_and_after(&plan, GROUP, "description"), (&json!("changed by hand"), &json!("Machine learning project")));
    ws.apply_ok();
    assert_eq!(groups(&emu)[0]["description"], "Machine learning project");
    ws.assert_no_changes();

    emu.delete_object("access_groups", &id);
    ws.plan_changes_exactly(&[(GROUP, &["create"])]);
    ws.apply_ok();
    assert_eq!(groups(&emu).len(), 1);
    ws.assert_no_changes();
}

#[test]
fn duplicate_name_reports_id_and_import_command() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&ml_group_config());
    ws.apply_ok();
    let id = group_id(&ws);
    let other = Workspace::new(&emu);
    other.write(&group_config("Project-ML", Some("Machine learning project")));
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
    ws.write(&group_config(&"x".repeat(101), Some("Machine learning project")));
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(plan.stderr.contains("Invalid name") && plan.stderr.contains("name"), "{}", plan.stderr);
    assert!(groups(&emu).is_empty());
}

#[test]
fn data_source_finds_a_group_by_name() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&ml_group_config());
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
    emu.set_lag(1.0);
    let ws = Workspace::new(&emu);
    ws.write(&format!(
        "{}{}",
        ml_group_config(),
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
