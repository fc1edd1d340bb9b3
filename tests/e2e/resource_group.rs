use crate::harness::{flat, Emulator, Workspace};

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

/// The group `lab` holding an open instance; `purge_on_destroy` of the instance and
/// `purge_reclamations_on_destroy` of the group as given.
fn group_with_instance(purge_on_destroy: bool, purge_reclamations_on_destroy: bool) -> String {
    format!(
        r#"
resource "ibmqr_resource_group" "lab" {{
  name                          = "lab"
  purge_reclamations_on_destroy = {purge_reclamations_on_destroy}
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

const GROUP_DELETE: &str = "DELETE /v2/resource_groups/{id}";
const RECLAMATION_LIST: &str = "GET /v1/reclamations";
const RECLAIM: &str = "POST /v1/reclamations/{id}/actions/{action}";

#[test]
fn a_group_goes_with_its_purged_instance() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&group_with_instance(true, false));
    ws.apply_ok();
    emu.reset_request_counts();
    ws.destroy_ok();
    assert!(group_named(&emu, "lab").is_none());
    assert!(emu.objects("reclamations").is_empty());
    assert_eq!(emu.request_count(RECLAIM), 1, "the instance's purge reclaimed it once: {}", emu.request_counts());
    assert_eq!(emu.request_count(GROUP_DELETE), 1, "the group was empty by then: {}", emu.request_counts());
}

/// An instance destroyed without purge waits out IBM's reclamation period (days). The group's
/// delete then fails at once, without polling, naming the instance and the commands that fix it;
/// the fix it names then works.
#[test]
fn a_group_holding_an_instance_pending_reclamation_fails_at_once_naming_it_and_the_fix() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&group_with_instance(false, false));
    ws.apply_ok();
    emu.reset_request_counts();
    let out = ws.terraform(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
    assert_eq!(out.code, 1, "{}", out.all());
    let counts = emu.request_counts();
    eprintln!("requests of the failed destroy: {counts}");

    let instance = emu.stored("instances").into_iter().next().expect("instance");
    assert_eq!(instance["state"], "pending_reclamation");
    let reclamation = emu.stored("reclamations").into_iter().next().expect("reclamation");
    assert_eq!(reclamation["state"], "SCHEDULED", "nothing reclaimed it");
    let message = flat(&out.stderr);
    let crn = instance["crn"].as_str().expect("crn");
    let command = format!("ibmcloud resource reclamation-delete {}", reclamation["id"].as_str().expect("reclamation id"));
    for expected in ["still holds deleted instances", "lab-open", crn, &command, "purge_reclamations_on_destroy = true"] {
        assert!(message.contains(expected), "{expected:?} missing:\n{}", out.stderr);
    }
    // No polling: one delete, refused, and one look at what holds the group.
    assert_eq!(emu.request_count(GROUP_DELETE), 1, "{counts}");
    assert_eq!(emu.request_count(RECLAMATION_LIST), 1, "{counts}");
    assert_eq!(emu.request_count(RECLAIM), 0, "{counts}");
    assert!(group_named(&emu, "lab").is_some(), "the group is still there");

    // The fix the message gives: record the attribute on the group alone, then destroy again.
    ws.write(&group_with_instance(false, true));
    emu.reset_request_counts();
    let recorded = ws.terraform(&["apply", "-target=ibmqr_resource_group.lab", "-auto-approve", "-input=false", "-no-color"]);
    assert_eq!(recorded.code, 0, "{}", recorded.all());
    assert!(flat(&recorded.stdout).contains("0 added, 1 changed, 0 destroyed"), "{}", recorded.stdout);
    assert_eq!(emu.request_count("PATCH /v2/resource_groups/{id}"), 0, "the attribute is the provider's own");
    ws.destroy_ok();
    assert!(group_named(&emu, "lab").is_none());
    assert!(emu.objects("reclamations").is_empty());
}

/// With `purge_reclamations_on_destroy` the group reclaims what its instances left pending, waits
/// while IBM reclaims (each reclaim lasts 2 s here, so the group's first deletes are refused), and
/// goes, leaving no reclamation behind.
#[test]
fn a_group_purging_reclamations_goes_with_an_unpurged_instance() {
    let emu = Emulator::start_with(&["--reclaim-ms", "2000"]);
    let ws = Workspace::new(&emu);
    ws.write(&group_with_instance(false, true));
    ws.apply_ok();
    emu.reset_request_counts();
    ws.destroy_ok();
    let counts = emu.request_counts();
    eprintln!("requests of the destroy: {counts}");
    assert!(group_named(&emu, "lab").is_none());
    assert!(emu.objects("reclamations").is_empty(), "no reclamation left behind");
    let instance = emu.stored("instances").into_iter().next().expect("instance");
    assert_eq!(instance["state"], "removed");
    assert_eq!(emu.request_count(RECLAIM), 1, "reclaimed once: {counts}");
    assert!(emu.request_count(GROUP_DELETE) >= 2, "refused while the instance was pending, deleted once reclaimed: {counts}");
}
