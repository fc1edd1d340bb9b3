use serde_json::json;
use terraform_provider_ibmqr::emulator::PUBLIC_ACCESS_ID;

use crate::harness::{hcl_strings, member_resource, planned_before_and_after, Emulator, Workspace, TWO_ACCESS_GROUPS};

const MEMBERS: &str = "ibmqr_access_group_members.m";
const MEMBER: &str = "ibmqr_access_group_member.ci";

/// The account's groups but IBM's built-in Public Access group.
fn groups(emu: &Emulator) -> Vec<serde_json::Value> {
    emu.stored("access_groups").into_iter().filter(|g| g["id"] != PUBLIC_ACCESS_ID).collect()
}

/// The exclusive member list `m` of the group `ml` or `fin`, with both groups.
fn members_config(group: &str, iam_ids: &[&str], service_ids: &[&str], profile_ids: &[&str]) -> String {
    format!(
        "{TWO_ACCESS_GROUPS}\nresource \"ibmqr_access_group_members\" \"m\" {{\n  access_group_id = ibmqr_access_group.{group}.id\n  iam_ids = {}\n  service_ids = {}\n  profile_ids = {}\n}}\n",
        hcl_strings(iam_ids),
        hcl_strings(service_ids),
        hcl_strings(profile_ids)
    )
}

/// The single membership `ci` of `iam_id` in the group `ml` or `fin`, with both groups.
fn member_config(group: &str, iam_id: &str) -> String {
    format!("{TWO_ACCESS_GROUPS}\n{}", member_resource("ci", group, iam_id))
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
    assert_eq!(emu.members_of(&ml), vec!["IBMid-alice", "IBMid-bob", "iam-ServiceId-ci"]);
    ws.assert_no_changes();

    // In place: one user leaves, a trusted profile joins.
    ws.write(&members_config("ml", &["IBMid-alice"], &["iam-ServiceId-ci"], &["iam-Profile-p1"]));
    ws.plan_changes_exactly(&[(MEMBERS, &["update"])]);
    ws.apply_ok();
    assert_eq!(emu.members_of(&ml), vec!["IBMid-alice", "iam-Profile-p1", "iam-ServiceId-ci"]);
    ws.assert_no_changes();

    // A member added behind Terraform's back is planned for removal.
    emu.add_member(&ml, "IBMid-mallory");
    let plan = ws.plan_changes_exactly(&[(MEMBERS, &["update"])]);
    let (before, after) = planned_before_and_after(&plan, MEMBERS, "iam_ids");
    assert_eq!((before, after), (&json!(["IBMid-alice", "IBMid-mallory"]), &json!(["IBMid-alice"])), "{plan}");
    ws.apply_ok();
    assert!(!emu.members_of(&ml).contains(&"IBMid-mallory".to_string()));
    ws.assert_no_changes();

    // A member removed behind Terraform's back is planned to come back.
    emu.remove_member(&ml, "IBMid-alice");
    let plan = ws.plan();
    assert_eq!(plan.code, 2, "{}", plan.all());
    ws.apply_ok();
    assert!(emu.members_of(&ml).contains(&"IBMid-alice".to_string()));

    // Another group replaces the resource.
    ws.write(&members_config("fin", &["IBMid-alice"], &["iam-ServiceId-ci"], &["iam-Profile-p1"]));
    ws.plan_changes_exactly(&[(MEMBERS, &["delete", "create"])]);
    ws.apply_ok();
    assert!(emu.members_of(&ml).is_empty());
    assert_eq!(emu.members_of(&fin).len(), 3);
    ws.assert_no_changes();

    // Import into a fresh configuration (only users and profiles listed), then no changes.
    let adopter = Workspace::new(&emu);
    adopter.write(&format!(
        "resource \"ibmqr_access_group_members\" \"m\" {{\n  access_group_id = \"{fin}\"\n  iam_ids = [\"IBMid-alice\"]\n  service_ids = [\"iam-ServiceId-ci\"]\n  profile_ids = [\"iam-Profile-p1\"]\n}}\n"
    ));
    adopter.import_ok(MEMBERS, &fin);
    adopter.assert_no_changes();

    ws.destroy_ok();
    assert!(emu.objects("access_group_members").is_empty(), "destroy leaves no members");
    assert!(groups(&emu).is_empty());
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
    assert_eq!(emu.members_of(&ml).len(), 60);
    assert_eq!(emu.request_count("PUT /v2/groups/{id}/members"), 2, "60 members = 2 calls: {}", emu.request_counts());
    ws.assert_no_changes();
}

#[test]
fn refused_member_fails_naming_it() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(TWO_ACCESS_GROUPS);
    ws.apply_ok();
    let (ml, _) = outputs(&ws);
    // The emulator refuses an IAM ID that is already in 50 groups.
    for i in 0..50 {
        emu.add_member(&format!("AccessGroupId-full{i}"), "IBMid-busy");
    }
    ws.write(&members_config("ml", &["IBMid-busy", "IBMid-ok"], &[], &[]));
    let out = ws.apply();
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("IBMid-busy") && out.stderr.contains("50 access groups"), "{}", out.stderr);
    assert_eq!(emu.members_of(&ml), vec!["IBMid-ok"]);
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
    assert!(groups(&emu).is_empty());
}

#[test]
fn single_member_is_additive() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&member_config("ml", "iam-ServiceId-ci"));
    ws.apply_ok();
    let (ml, fin) = outputs(&ws);
    assert_eq!(emu.members_of(&ml), vec!["iam-ServiceId-ci"]);
    ws.assert_no_changes();

    // Someone else's member is left alone.
    emu.add_member(&ml, "IBMid-other");
    ws.assert_no_changes();

    // Deleted behind Terraform's back: planned for creation.
    emu.remove_member(&ml, "iam-ServiceId-ci");
    ws.plan_changes_exactly(&[(MEMBER, &["create"])]);
    ws.apply_ok();

    // A new IAM ID (or group) replaces the membership.
    ws.write(&member_config("fin", "iam-Profile-bot"));
    ws.plan_changes_exactly(&[(MEMBER, &["delete", "create"])]);
    ws.apply_ok();
    assert_eq!(emu.members_of(&ml), vec!["IBMid-other"]);
    assert_eq!(emu.members_of(&fin), vec!["iam-Profile-bot"]);
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
    assert!(emu.members_of(&fin).is_empty());
}

#[test]
fn single_member_bad_prefix_fails_at_plan() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&member_config("ml", "ServiceId-ci"));
    let plan = ws.plan();
    assert_eq!(plan.code, 1);
    assert!(plan.stderr.contains("Invalid iam_id") && plan.stderr.contains("iam_id"), "{}", plan.stderr);
}
