use crate::harness::{Emulator, Workspace};

const DEV: &str = "ibmqr_resource_group.dev";

/// The resource group `dev` named `name`, and the account's default group, with both IDs as outputs.
fn group_config(name: &str) -> String {
    format!(
        r#"
resource "ibmqr_resource_group" "dev" {{
  name = "{name}"
}}
data "ibmqr_resource_group" "default" {{
  is_default = true
}}
output "id"         {{ value = ibmqr_resource_group.dev.id }}
output "default_id" {{ value = data.ibmqr_resource_group.default.id }}
"#
    )
}

fn groups(emu: &Emulator) -> Vec<serde_json::Value> {
    emu.stored("resource_groups")
}

fn group_named(emu: &Emulator, name: &str) -> Option<serde_json::Value> {
    groups(emu).into_iter().find(|g| g["name"] == name)
}

#[test]
fn create_rename_drift_import_and_destroy() {
    let emu = Emulator::start();
    let default = group_named(&emu, "Default").expect("the account starts with its Default group");
    assert_eq!(default["default"], true);
    let ws = Workspace::new(&emu);
    ws.write(&group_config("qiskit-dev"));
    ws.apply_ok();
    let created = group_named(&emu, "qiskit-dev").expect("group created");
    let out = ws.output_json();
    assert_eq!(out["id"]["value"], created["id"]);
    assert_eq!(out["default_id"]["value"], default["id"]);
    ws.assert_no_changes();

    // Renamed in place.
    ws.write(&group_config("qiskit-prod"));
    ws.plan_changes_exactly(&[(DEV, &["update"])]);
    ws.apply_ok();
    assert_eq!(group_named(&emu, "qiskit-prod").expect("renamed")["id"], created["id"]);
    ws.assert_no_changes();

    // Drift: renamed behind Terraform's back → update; deleted → create.
    let id = created["id"].as_str().expect("id").to_string();
    emu.patch_object("resource_groups", &id, serde_json::json!({"name": "someone-else"}));
    ws.plan_changes_exactly(&[(DEV, &["update"])]);
    ws.apply_ok();
    ws.assert_no_changes();
    emu.delete_object("resource_groups", &id);
    ws.plan_changes_exactly(&[(DEV, &["create"])]);
    ws.apply_ok();
    let id = group_named(&emu, "qiskit-prod").expect("recreated")["id"].as_str().expect("id").to_string();

    // Import by id into a second configuration, then no changes.
    let adopter = Workspace::new(&emu);
    adopter.write("resource \"ibmqr_resource_group\" \"dev\" {\n  name = \"qiskit-prod\"\n}\n");
    adopter.import_ok(DEV, &id);
    adopter.assert_no_changes();

    ws.destroy_ok();
    let left: Vec<_> = groups(&emu).into_iter().map(|g| g["name"].clone()).collect();
    assert_eq!(left, vec![serde_json::json!("Default")], "destroy leaves only the Default group");
}

#[test]
fn bad_and_taken_names() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&group_config(" padded"));
    let plan = ws.plan();
    assert_eq!(plan.code, 1);
    assert!(plan.stderr.contains("Invalid name") && plan.stderr.contains("name"), "{}", plan.stderr);

    let default_id = group_named(&emu, "Default").expect("Default")["id"].as_str().expect("id").to_string();
    ws.write(&group_config("Default"));
    let out = ws.apply();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("already exists") && out.stderr.contains(&format!("terraform import ibmqr_resource_group.<name> {default_id}")),
        "{}",
        out.stderr
    );
    assert_eq!(groups(&emu).len(), 1);
}

/// The group `lab` holding an open instance, purged on destroy or not.
fn group_with_instance(purge_on_destroy: bool) -> String {
    format!(
        r#"
resource "ibmqr_resource_group" "lab" {{
  name = "lab"
  timeouts {{
    delete = "3s"
  }}
}}
resource "ibmqr_instance" "qr" {{
  name              = "lab-open"
  plan              = "open"
  region            = "us-east"
  resource_group_id = ibmqr_resource_group.lab.id
  purge_on_destroy  = {purge_on_destroy}
}}
"#
    )
}

#[test]
fn a_group_goes_with_its_purged_instance() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&group_with_instance(true));
    ws.apply_ok();
    ws.destroy_ok();
    assert!(group_named(&emu, "lab").is_none());
    assert!(emu.objects("reclamations").is_empty());
}

#[test]
fn a_group_holding_an_unpurged_instance_fails_naming_it() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&group_with_instance(false));
    ws.apply_ok();
    let out = ws.terraform(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
    assert_eq!(out.code, 1, "{}", out.all());
    let crn = emu.stored("instances").into_iter().next().expect("instance")["crn"].as_str().expect("crn").to_string();
    assert!(out.stderr.contains("still holds") && out.stderr.contains(&crn) && out.stderr.contains("purge_on_destroy"), "{}", out.stderr);
    assert!(group_named(&emu, "lab").is_some(), "the group is still there");
}
