use crate::custom_role::unwrap_record;
use crate::harness::{Emulator, Workspace};

const GROUP: &str = r#"
resource "ibmqr_resource_group" "dev" {
  name = "qiskit-dev"
}
data "ibmqr_resource_group" "default" {
  is_default = true
}
output "id"         { value = ibmqr_resource_group.dev.id }
output "default_id" { value = data.ibmqr_resource_group.default.id }
"#;

pub fn groups(emu: &Emulator) -> Vec<serde_json::Value> {
    emu.objects("resource_groups").into_iter().map(unwrap_record).collect()
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
    ws.write(GROUP);
    ws.apply_ok();
    let created = group_named(&emu, "qiskit-dev").expect("group created");
    let out = ws.output_json();
    assert_eq!(out["id"]["value"], created["id"]);
    assert_eq!(out["default_id"]["value"], default["id"]);
    ws.assert_no_changes();

    // Renamed in place.
    ws.write(&GROUP.replace("qiskit-dev", "qiskit-prod"));
    let plan = ws.plan();
    assert!(plan.code == 2 && plan.stdout.contains("1 to change") && plan.stdout.contains("0 to destroy"), "{}", plan.all());
    ws.apply_ok();
    assert_eq!(group_named(&emu, "qiskit-prod").expect("renamed")["id"], created["id"]);
    ws.assert_no_changes();

    // Drift: renamed behind Terraform's back → update; deleted → create.
    let id = created["id"].as_str().expect("id").to_string();
    emu.admin("PATCH", &format!("/_emulator/objects/resource_groups/{id}"), Some(serde_json::json!({"name": "someone-else"})));
    let plan = ws.plan();
    assert!(plan.code == 2 && plan.stdout.contains("1 to change"), "{}", plan.all());
    ws.apply_ok();
    ws.assert_no_changes();
    emu.admin("DELETE", &format!("/_emulator/objects/resource_groups/{id}"), None);
    let plan = ws.plan();
    assert!(plan.code == 2 && plan.stdout.contains("1 to add"), "{}", plan.all());
    ws.apply_ok();
    let id = group_named(&emu, "qiskit-prod").expect("recreated")["id"].as_str().expect("id").to_string();

    // Import by id into a second configuration, then no changes.
    let adopter = Workspace::new(&emu);
    adopter.write("resource \"ibmqr_resource_group\" \"dev\" {\n  name = \"qiskit-prod\"\n}\n");
    adopter.import_ok("ibmqr_resource_group.dev", &id);
    adopter.assert_no_changes();

    ws.destroy_ok();
    let left: Vec<_> = groups(&emu).into_iter().map(|g| g["name"].clone()).collect();
    assert_eq!(left, vec![serde_json::json!("Default")], "destroy leaves only the Default group");
}

#[test]
fn bad_and_taken_names() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&GROUP.replace("qiskit-dev", " padded"));
    let plan = ws.plan();
    assert_eq!(plan.code, 1);
    assert!(plan.stderr.contains("Invalid name") && plan.stderr.contains("name"), "{}", plan.stderr);

    let default_id = group_named(&emu, "Default").expect("Default")["id"].as_str().expect("id").to_string();
    ws.write(&GROUP.replace("qiskit-dev", "Default"));
    let out = ws.apply();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("already exists") && out.stderr.contains(&format!("terraform import ibmqr_resource_group.<name> {default_id}")),
        "{}",
        out.stderr
    );
    assert_eq!(groups(&emu).len(), 1);
}

const GROUP_WITH_INSTANCE: &str = r#"
resource "ibmqr_resource_group" "lab" {
  name = "lab"
  timeouts {
    delete = "3s"
  }
}
resource "ibmqr_instance" "qr" {
  name              = "lab-open"
  plan              = "open"
  region            = "us-east"
  resource_group_id = ibmqr_resource_group.lab.id
  purge_on_destroy  = PURGE
}
"#;

#[test]
fn a_group_goes_with_its_purged_instance() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&GROUP_WITH_INSTANCE.replace("PURGE", "true"));
    ws.apply_ok();
    ws.destroy_ok();
    assert!(group_named(&emu, "lab").is_none());
    assert!(emu.objects("reclamations").is_empty());
}

#[test]
fn a_group_holding_an_unpurged_instance_fails_naming_it() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&GROUP_WITH_INSTANCE.replace("PURGE", "false"));
    ws.apply_ok();
    let out = ws.terraform(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
    assert_eq!(out.code, 1, "{}", out.all());
    let crn = emu.objects("instances").into_iter().map(unwrap_record).next().expect("instance")["crn"].as_str().expect("crn").to_string();
    assert!(out.stderr.contains("still holds") && out.stderr.contains(&crn) && out.stderr.contains("purge_on_destroy"), "{}", out.stderr);
    assert!(group_named(&emu, "lab").is_some(), "the group is still there");
}
