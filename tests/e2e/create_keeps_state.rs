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

use crate::harness::{
    assert_failed_create_kept_then_converges, ci_group_with_bot, group_ids, hcl_strings, ids_of, live_directories, live_instances,
    made_resource_group_ids, memberships, ml_group, ml_invite, ml_members, ml_members_rule, ml_policy, quoted, resource,
    resource_group_resource, role_resource, rule_ids, rule_resource, state_resource, timeouts, user_ids, Emulator, Workspace,
    BOT_SERVICE_ID,
};

/// A 403 is never retried, so it fails the step it hits at once.
const FORBIDDEN: u16 = 403;

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
    ws.write(&role_resource("QiskitRuntimeUser", "Qiskit Runtime user", &["quantum-computing.job.read"]));
    emu.fail_requests("GET /v2/roles/{id}", FORBIDDEN, 1);
    apply_fails_at(&ws, "waiting for custom role");
    assert_failed_create_kept_then_converges(&emu, &ws, "ibmqr_custom_role.member", || ids_of(emu.stored("roles")));
}

#[test]
fn access_group_whose_visibility_wait_fails() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&ml_group());
    emu.fail_requests("GET /v2/groups/{id}", FORBIDDEN, 1);
    apply_fails_at(&ws, "waiting for access group");
    assert_failed_create_kept_then_converges(&emu, &ws, "ibmqr_access_group.ml", || group_ids(&emu));
}

#[test]
fn access_group_policy_whose_visibility_wait_fails() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&(ml_group() + &ml_policy(&["Viewer", "Reader"], &[])));
    emu.fail_requests("GET /v1/policies/{id}", FORBIDDEN, 1);
    apply_fails_at(&ws, "waiting for access group policy");
    assert_failed_create_kept_then_converges(&emu, &ws, "ibmqr_access_group_policy.ml", || ids_of(emu.stored("policies")));
}

/// The new group stays invisible longer than `timeouts.create` allows.
#[test]
fn resource_group_whose_visibility_wait_times_out() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&lab_group());
    emu.set_visibility_lag(3.0);
    apply_fails_at(&ws, "waiting for resource group");
    // Past the lag, reads see the group, as they would on IBM a while later.
    emu.set_visibility_lag(0.0);
    emu.wait_until_all_visible("resource_groups");
    assert_failed_create_kept_then_converges(&emu, &ws, "ibmqr_resource_group.lab", || made_resource_group_ids(&emu));
}

/// The resource group `lab`, which may wait one second for its visibility.
fn lab_group() -> String {
    resource_group_resource("lab", &[("create", "1s")])
}

/// The open-plan instance `qr`, with `tags` when given, which may wait one second to be active.
fn instance(tags: Option<&[&str]>) -> String {
    let mut attributes = vec![("name", quoted("qr-main")), ("plan", quoted("open")), ("region", quoted("us-east"))];
    attributes.extend(tags.map(|tags| ("tags", hcl_strings(tags))));
    attributes.push(("purge_on_destroy", "true".to_string()));
    resource("ibmqr_instance", "qr", &attributes, &[timeouts(&[("create", "1s")])])
}

/// The instance is still provisioning when `timeouts.create` runs out.
#[test]
fn instance_whose_wait_for_active_times_out() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&instance(None));
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
    ws.write(&instance(Some(&["env:dev"])));
    emu.fail_requests("POST /v3/tags/attach", FORBIDDEN, 1);
    apply_fails_at(&ws, "attaching tags");
    assert_failed_create_kept_then_converges(&emu, &ws, "ibmqr_instance.qr", || live_instances(&emu));
    let tags: Vec<serde_json::Value> = emu.stored("tags");
    assert_eq!(tags.len(), 1, "the tags are attached once the fault is gone: {tags:?}");
    assert_eq!(tags[0]["tags"], serde_json::json!(["env:dev"]));
}

#[test]
fn access_group_member_whose_listing_wait_fails() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&ci_group_with_bot());
    emu.fail_requests("GET /v2/groups/{id}/members", FORBIDDEN, 1);
    apply_fails_at(&ws, &format!("adding {BOT_SERVICE_ID} to access group"));
    assert_failed_create_kept_then_converges(&emu, &ws, "ibmqr_access_group_member.bot", || memberships(&emu));
}

#[test]
fn dynamic_rule_whose_wait_fails() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&(ml_group() + &rule_resource(&ml_members_rule(&[("project", "CONTAINS", "ml")]))));
    emu.fail_requests("GET /v2/groups/{id}/rules/{rule_id}", FORBIDDEN, 1);
    apply_fails_at(&ws, "waiting for dynamic rule project-ml-members");
    assert_failed_create_kept_then_converges(&emu, &ws, "ibmqr_access_group_dynamic_rule.ml", || rule_ids(&emu));
}

const IN_GROUP: &str = "IBMid-270000AAAA";
const STRANGER: &str = "IBMid-270000ZZZZ";

/// The members are added, but removing one added elsewhere fails: the list is half set.
#[test]
fn access_group_members_whose_removal_fails() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    let group = ml_group();
    ws.write(&group);
    ws.apply_ok();
    let group_id = group_ids(&emu).pop().expect("group");
    emu.add_member(&group_id, STRANGER);
    ws.write(&(group + &ml_members(&[("iam_ids", &[IN_GROUP])])));
    emu.fail_requests("POST /v2/groups/{id}/members/delete", FORBIDDEN, 1);
    apply_fails_at(&ws, "setting the members of access group");
    let members = || {
        let stored = emu.stored("access_group_members");
        let mut iam_ids: Vec<String> = stored.iter().map(|m| m["iam_id"].as_str().expect("iam_id").to_string()).collect();
        iam_ids.sort();
        iam_ids
    };
    assert_eq!(members(), [IN_GROUP, STRANGER], "the add happened, the removal did not");
    // State names the list by its group; the one group is what the store holds.
    assert_failed_create_kept_then_converges(&emu, &ws, "ibmqr_access_group_members.ml", || group_ids(&emu));
    assert_eq!(members(), [IN_GROUP], "the second apply finished the list, with no member twice");
}

/// The person is invited, but the look-up that waits for IBM to process the invitation fails:
/// state keeps the invitation (its IAM ID not known yet), and the next apply ends with one person.
#[test]
fn user_invite_whose_wait_fails() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    let group = ml_group();
    ws.write(&group);
    ws.apply_ok();
    ws.write(&(group + &ml_invite("fatima", "fatima@example.edu")));
    // The shared search, then the invitation's own search on that one's failure.
    emu.fail_requests("GET /v2/accounts/{account_id}/users", FORBIDDEN, 2);
    apply_fails_at(&ws, "inviting fatima@example.edu");
    let state = ws.state_json();
    let kept = state_resource(&state, "ibmqr_user_invite.fatima").expect("the failed create keeps the invitation in state");
    assert!(kept.tainted, "kept tainted, to be replaced by the next apply: {state}");
    assert_eq!(kept.values["email"], "fatima@example.edu");
    assert!(emu.queued_faults().is_empty(), "the injected faults were used");

    ws.apply_ok();
    let state = ws.state_json();
    let now = state_resource(&state, "ibmqr_user_invite.fatima").expect("in state after the second apply");
    assert!(!now.tainted);
    let users = user_ids(&emu);
    assert_eq!(users, vec![now.string("id")], "one person, and state names them");
    let group_id = group_ids(&emu).pop().expect("group");
    assert_eq!(memberships(&emu), [format!("{group_id}/{}", users[0])], "the person is in the group once");
    ws.assert_no_changes();
}

// A create that timed out waiting for its new object to show keeps the object in state,
// tainted. The next apply, run at once, refreshes while reads still miss the object (the very
// reason the create timed out): the refresh must not take that 404 for "deleted outside
// Terraform", or the object is lost from state (a resource group's re-create then fails on its
// name and leaves the group unmanaged; an instance, whose names need not be unique, is made a
// second time). The provider marks such an object in its private state and keeps it while unseen
// (framework::unconfirmed), and the refresh reads it again until it shows; the replace of the
// tainted object then deletes it before making the new one, so exactly one object is left.

/// How long new objects stay invisible in the two tests below: longer than `timeouts.create`
/// ("1s"), and still running when the second apply refreshes.
const LONG_LAG_SECONDS: f64 = 8.0;

/// The second apply starts while the first apply's object is still unseen; from then on new
/// objects show at once, so whatever the second apply makes shows up in `made`.
fn reapplied_at_once_leaves_one_object(emu: &Emulator, ws: &Workspace, address: &str, made: impl Fn() -> Vec<String>) {
    emu.set_visibility_lag(0.0);
    assert_failed_create_kept_then_converges(emu, ws, address, made);
}

#[test]
fn resource_group_reapplied_while_still_invisible_stays_in_state() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&lab_group());
    emu.set_visibility_lag(LONG_LAG_SECONDS);
    apply_fails_at(&ws, "waiting for resource group");
    reapplied_at_once_leaves_one_object(&emu, &ws, "ibmqr_resource_group.lab", || made_resource_group_ids(&emu));
}

#[test]
fn instance_reapplied_while_still_invisible_is_not_created_twice() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&instance(None));
    emu.set_visibility_lag(LONG_LAG_SECONDS);
    apply_fails_at(&ws, "waiting for instance");
    reapplied_at_once_leaves_one_object(&emu, &ws, "ibmqr_instance.qr", || live_instances(&emu));
}

#[test]
fn appid_directory_whose_token_mapping_fails() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&crate::appid::directory_resource("campus-users", &[]));
    emu.fail_requests("PUT /management/v4/{tenant}/config/tokens", FORBIDDEN, 1);
    apply_fails_at(&ws, "creating App ID directory campus-users: mapping the profile attribute");
    assert_failed_create_kept_then_converges(&emu, &ws, crate::appid::DIRECTORY, || live_directories(&emu));
}

#[test]
fn appid_user_whose_profile_lookup_fails() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&crate::appid::user_config(&["ml"], &[]));
    emu.fail_requests("GET /management/v4/{tenant}/cloud_directory/{id}/userinfo", FORBIDDEN, 1);
    apply_fails_at(&ws, "creating App ID user Ada@Uni.example");
    let made = || emu.objects("appid_users").iter().map(|o| o["id"].as_str().expect("id").to_string()).collect::<Vec<_>>();
    assert_failed_create_kept_then_converges(&emu, &ws, crate::appid::ADA, made);
}

#[test]
fn identity_provider_whose_login_setting_fails() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    let idp = resource(
        "ibmqr_identity_provider",
        "campus",
        &[("name", quoted("Campus")), ("type", quoted("appid")), ("appid_directory_id", "ibmqr_appid_directory.campus.id".into())],
        &[],
    );
    ws.write(&format!("{}\n{idp}", crate::appid::directory_resource("campus-users", &[])));
    emu.fail_requests("POST /v2/loginsettings/{account_id}/idps/{idp_id}", FORBIDDEN, 1);
    apply_fails_at(&ws, "creating identity provider Campus: enabling it for login");
    let made = || emu.stored("idps").iter().map(|i| i["idp_id"].as_str().expect("idp_id").to_string()).collect::<Vec<_>>();
    assert_failed_create_kept_then_converges(&emu, &ws, "ibmqr_identity_provider.campus", made);
}
