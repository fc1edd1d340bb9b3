use serde_json::json;

use crate::custom_role::unwrap_record;
use crate::harness::{Emulator, Workspace};

const GROUPS: &str = r#"
resource "ibmqr_access_group" "ml" {
  name = "project-ml"
}
resource "ibmqr_access_group" "fin" {
  name = "project-finance"
}
output "ml"  { value = ibmqr_access_group.ml.id }
output "fin" { value = ibmqr_access_group.fin.id }
"#;

fn members_config(group: &str, iam_ids: &[&str], service_ids: &[&str], profile_ids: &[&str]) -> String {
    let list = |ids: &[&str]| format!("[{}]", ids.iter().map(|i| format!("\"{i}\"")).collect::<Vec<_>>().join(", "));
    format!(
        "{GROUPS}\nresource \"ibmqr_access_group_members\" \"m\" {{\n  access_group_id = ibmqr_access_group.{group}.id\n  iam_ids = {}\n  service_ids = {}\n  profile_ids = {}\n}}\n",
        list(iam_ids),
        list(service_ids),
        list(profile_ids)
    )
}

/// IAM IDs of the group's stored members, sorted.
pub fn members_of(emu: &Emulator, group_id: &str) -> Vec<String> {
    let mut ids: Vec<String> = emu
        .objects("access_group_members")
        .into_iter()
        .map(unwrap_record)
        .filter(|m| m["access_group_id"] == group_id)
        .filter_map(|m| m["iam_id"].as_str().map(String::from))
        .collect();
    ids.sort();
    ids
}

pub fn member_path(group_id: &str, iam_id: &str) -> String {
    format!("/_emulator/objects/access_group_members/{group_id}%2F{iam_id}")
}

fn outputs(ws: &Workspace) -> (String, String) {
    let out = ws.output_json();
    (out["ml"]["value"].as_str().expect("ml").to_string(), out["fin"]["value"].as_str().expect("fin").to_string())
}

#[test]
fn exclusive_member_list_lifecycle() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&members_config("ml", &["IBMid-alice", "IBMid-bob"], &["iam-ServiceId-ci"], &[]));
    ws.apply_ok();
    let (ml, fin) = outputs(&ws);
    assert_eq!(members_of(&emu, &ml), vec!["IBMid-alice", "IBMid-bob", "iam-ServiceId-ci"]);
    ws.assert_no_changes();

    // In place: one user leaves, a trusted profile joins.
    ws.write(&members_config("ml", &["IBMid-alice"], &["iam-ServiceId-ci"], &["iam-Profile-p1"]));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("1 to change") && plan.stdout.contains("0 to destroy"), "{}", plan.stdout);
    ws.apply_ok();
    assert_eq!(members_of(&emu, &ml), vec!["IBMid-alice", "iam-Profile-p1", "iam-ServiceId-ci"]);
    ws.assert_no_changes();

    // A member added behind Terraform's back is planned for removal.
    emu.admin("PUT", &member_path(&ml, "IBMid-mallory"), Some(json!({"access_group_id": ml, "iam_id": "IBMid-mallory", "type": "user"})));
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("IBMid-mallory") && plan.stdout.contains("1 to change"), "{}", plan.stdout);
    ws.apply_ok();
    assert!(!members_of(&emu, &ml).contains(&"IBMid-mallory".to_string()));
    ws.assert_no_changes();

    // A member removed behind Terraform's back is planned to come back.
    emu.admin("DELETE", &member_path(&ml, "IBMid-alice"), None);
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    ws.apply_ok();
    assert!(members_of(&emu, &ml).contains(&"IBMid-alice".to_string()));

    // Another group replaces the resource.
    ws.write(&members_config("fin", &["IBMid-alice"], &["iam-ServiceId-ci"], &["iam-Profile-p1"]));
    let plan = ws.plan();
    assert_eq!(plan.code, 2);
    assert!(plan.stdout.contains("must be replaced"), "{}", plan.stdout);
    ws.apply_ok();
    assert!(members_of(&emu, &ml).is_empty());
    assert_eq!(members_of(&emu, &fin).len(), 3);
    ws.assert_no_changes();

    // Import into a fresh configuration (only users and profiles listed), then no changes.
    let adopter = Workspace::new(&emu);
    adopter.write(&format!(
        "resource \"ibmqr_access_group_members\" \"m\" {{\n  access_group_id = \"{fin}\"\n  iam_ids = [\"IBMid-alice\"]\n  service_ids = [\"iam-ServiceId-ci\"]\n  profile_ids = [\"iam-Profile-p1\"]\n}}\n"
    ));
    adopter.import_ok("ibmqr_access_group_members.m", &fin);
    adopter.assert_no_changes();

    ws.destroy_ok();
    assert!(emu.objects("access_group_members").is_empty(), "destroy leaves no members");
    assert!(emu.objects("access_groups").is_empty());
}

#[test]
fn additions_go_in_batches_of_fifty() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    let ids: Vec<String> = (0..60).map(|i| format!("IBMid-user{i:02}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    ws.write(&members_config("ml", &refs, &[], &[]));
    ws.apply_ok();
    let (ml, _) = outputs(&ws);
    assert_eq!(members_of(&emu, &ml).len(), 60);
    let counts = emu.request_counts();
    assert_eq!(counts["counts"]["PUT /v2/groups/{id}/members"], 2, "60 members = 2 calls: {counts}");
    ws.assert_no_changes();
}

#[test]
fn refused_member_fails_naming_it() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(GROUPS);
    ws.apply_ok();
    let (ml, _) = outputs(&ws);
    // The emulator refuses an IAM ID that is already in 50 groups.
    for i in 0..50 {
        let gid = format!("AccessGroupId-full{i}");
        emu.admin("PUT", &member_path(&gid, "IBMid-busy"), Some(json!({"access_group_id": gid, "iam_id": "IBMid-busy", "type": "user"})));
    }
    ws.write(&members_config("ml", &["IBMid-busy", "IBMid-ok"], &[], &[]));
    let out = ws.apply();
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("IBMid-busy") && out.stderr.contains("50 access groups"), "{}", out.stderr);
    assert_eq!(members_of(&emu, &ml), vec!["IBMid-ok"]);
}

#[test]
fn wrong_prefix_fails_at_plan() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&members_config("ml", &["alice@example.com"], &["IBMid-x"], &[]));
    let plan = ws.plan();
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(
        plan.stderr.contains("Invalid iam_ids") && plan.stderr.contains("iam_ids") && plan.stderr.contains("service_ids"),
        "{}",
        plan.stderr
    );
    assert!(emu.objects("access_groups").is_empty());
}

const ONE: &str = r#"
resource "ibmqr_access_group_member" "ci" {
  access_group_id = ibmqr_access_group.ml.id
  iam_id          = "iam-ServiceId-ci"
}
"#;

#[test]
fn single_member_is_additive() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&format!("{GROUPS}{ONE}"));
    ws.apply_ok();
    let (ml, fin) = outputs(&ws);
    assert_eq!(members_of(&emu, &ml), vec!["iam-ServiceId-ci"]);
    ws.assert_no_changes();

    // Someone else's member is left alone.
    emu.admin("PUT", &member_path(&ml, "IBMid-other"), Some(json!({"access_group_id": ml, "iam_id": "IBMid-other", "type": "user"})));
    ws.assert_no_changes();

    // Deleted behind Terraform's back: planned for creation.
    emu.admin("DELETE", &member_path(&ml, "iam-ServiceId-ci"), None);
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    assert!(plan.stdout.contains("1 to add"), "{}", plan.stdout);
    ws.apply_ok();

    // A new IAM ID (or group) replaces the membership.
    ws.write(&format!(
        "{GROUPS}{}",
        ONE.replace("iam-ServiceId-ci", "iam-Profile-bot").replace("ibmqr_access_group.ml.id", "ibmqr_access_group.fin.id")
    ));
    let plan = ws.plan();
    assert_eq!(plan.code, 2);
    assert!(plan.stdout.contains("must be replaced"), "{}", plan.stdout);
    ws.apply_ok();
    assert_eq!(members_of(&emu, &ml), vec!["IBMid-other"]);
    assert_eq!(members_of(&emu, &fin), vec!["iam-Profile-bot"]);
    ws.assert_no_changes();

    let adopter = Workspace::new(&emu);
    adopter.write(&format!(
        "resource \"ibmqr_access_group_member\" \"x\" {{\n  access_group_id = \"{fin}\"\n  iam_id = \"iam-Profile-bot\"\n}}\n"
    ));
    adopter.import_ok("ibmqr_access_group_member.x", &format!("{fin}/iam-Profile-bot"));
    adopter.assert_no_changes();
    let bad = adopter.import("ibmqr_access_group_member.x", "no-slash");
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("GROUP_ID/IAM_ID"), "{}", bad.stderr);

    ws.destroy_ok();
    assert!(members_of(&emu, &fin).is_empty());
}

#[test]
fn single_member_bad_prefix_fails_at_plan() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&format!("{GROUPS}{}", ONE.replace("iam-ServiceId-ci", "ServiceId-ci")));
    let plan = ws.plan();
    assert_eq!(plan.code, 1);
    assert!(plan.stderr.contains("Invalid iam_id") && plan.stderr.contains("iam_id"), "{}", plan.stderr);
}
