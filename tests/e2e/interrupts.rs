//! Ctrl-C during a create's wait. Every create that waits after the request that makes its object
//! is interrupted (SIGINT to Terraform's process group) while it waits. Terraform then sends
//! StopProvider, the provider cancels the wait and answers with the object it made and an error,
//! and the apply ends within moments: the object is in state with its real id, tainted, since
//! Terraform taints an object whose create failed. The next apply, the wait made short again,
//! replaces it (destroys it, creates it again, on 1.0.3 and 1.15.5 alike) and leaves exactly one
//! object, the one state names, with nothing more to change.
//!
//! The wait each test interrupts, made long by the emulator's consistency lag (new objects stay
//! invisible; `Emulator::end_lag` shows them before the next apply) unless said otherwise:
//! - `ibmqr_custom_role`, `ibmqr_access_group`, `ibmqr_access_group_policy`,
//!   `ibmqr_resource_group`, `ibmqr_access_group_dynamic_rule`: for the new object to be readable;
//! - `ibmqr_identity_provider`: for the new IdP to be readable (its later wait for the login
//!   setting follows the same code and is not interrupted separately);
//! - `ibmqr_access_group_member`, `ibmqr_access_group_members`: for the group to list the members
//!   added;
//! - `ibmqr_instance`, `ibmqr_appid_directory`: for the Resource Controller instance to be active
//!   (it stays invisible, then provisioning; the next apply destroys it while it provisions);
//! - `ibmqr_user_invite`: for IBM to process the invitation (the emulator's invite processing
//!   time). Interrupted before the person is listed, state has their email but no IAM ID yet;
//!   the next apply's destroy finds them by email.
//!
//! Not covered, since their create waits for nothing after making the object:
//! `ibmqr_appid_user` (sign-up, then one profile look-up) and `ibmqr_account_settings` (one PUT).

use std::time::Duration;

use crate::appid::{directory_resource, DIRECTORY};
use crate::harness::{
    access_group_resource, assert_failed_create_kept_then_converges, flat, group_ids, ids_of, live_directories, live_instances,
    made_resource_group_ids, member_resource, member_role, memberships, ml_group, ml_invite, ml_members, ml_members_rule, ml_policy,
    quoted, resource, resource_group_resource, rule_ids, rule_resource, state_resource, user_ids, Emulator, InviteSettings, Workspace,
    BOT_SERVICE_ID,
};

/// How long the interrupted wait would last: far longer than any test may take.
const SLOW_SECONDS: f64 = 60.0;

/// A lag that outlasts the interrupted apply but not the next one's refresh.
const SHORT_LAG_SECONDS: f64 = 10.0;

/// How soon after Ctrl-C the apply must have ended: the provider stops waiting at once; the rest
/// is Terraform recording state and exiting on a busy machine.
const PROMPTLY: Duration = Duration::from_secs(15);

/// Applies the workspace's configuration and interrupts it once `create_route` has served the
/// request that makes the object: the apply fails, promptly, having sent that request once.
fn interrupt_after_create(emu: &Emulator, ws: &Workspace, create_route: &str) {
    let (succeeded, took) = ws.apply_interrupted_when(|| emu.request_count(create_route) == 1);
    println!("{create_route}: the apply stopped {took:?} after Ctrl-C");
    assert!(!succeeded, "an interrupted apply reports failure");
    assert!(took < PROMPTLY, "stopped {took:?} after Ctrl-C, not when the wait would have ended");
    assert_eq!(emu.request_count(create_route), 1, "one create: {}", emu.request_counts());
}

/// The next apply replaces the tainted object at `address` and leaves exactly one, the one state
/// names (`made` lists what the emulator holds, each as state writes its id).
fn replaced_without_duplicate(emu: &Emulator, ws: &Workspace, address: &str, made: impl Fn() -> Vec<String>) {
    let applied = assert_failed_create_kept_then_converges(emu, ws, address, made);
    let said = flat(&applied.stdout);
    assert!(said.contains(&format!("{address} is tainted, so must be replaced")), "the next apply replaced {address}:\n{said}");
}

/// With `before` applied first (without lag), adds `resource` and interrupts its create while
/// the lag hides what it made; then ends the lag and checks the next apply.
fn interrupted_under_lag(before: &str, resource: &str, create_route: &str, address: &str, made: impl Fn(&Emulator) -> Vec<String>) {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    if !before.is_empty() {
        ws.write(before);
        ws.apply_ok();
    }
    ws.write(&format!("{before}\n{resource}"));
    emu.set_lag(SLOW_SECONDS);
    interrupt_after_create(&emu, &ws, create_route);
    emu.end_lag();
    replaced_without_duplicate(&emu, &ws, address, || made(&emu));
}

#[test]
fn interrupted_custom_role() {
    interrupted_under_lag("", &member_role(), "POST /v2/roles", "ibmqr_custom_role.member", |emu| ids_of(emu.stored("roles")));
}

/// The user applies again at once, while the role the interrupted create made is still hidden:
/// the refresh reads it again until it shows (the create marked it unconfirmed), instead of
/// dropping it from state and making a second role beside it.
#[test]
fn interrupted_custom_role_reapplied_while_still_hidden() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&member_role());
    emu.set_lag(SHORT_LAG_SECONDS);
    interrupt_after_create(&emu, &ws, "POST /v2/roles");
    // New objects show at once from now on; the role made already stays hidden for its lag.
    emu.set_lag(0.0);
    assert!(emu.objects("roles").iter().all(|r| r["visible"] == false), "the role is still hidden");
    replaced_without_duplicate(&emu, &ws, "ibmqr_custom_role.member", || ids_of(emu.stored("roles")));
}

#[test]
fn interrupted_access_group() {
    interrupted_under_lag("", &ml_group(), "POST /v2/groups", "ibmqr_access_group.ml", group_ids);
}

#[test]
fn interrupted_access_group_policy() {
    let policy = ml_policy(&["Viewer", "Reader"], &[]);
    interrupted_under_lag(&ml_group(), &policy, "POST /v1/policies", "ibmqr_access_group_policy.ml", |emu| ids_of(emu.stored("policies")));
}

#[test]
fn interrupted_resource_group() {
    let group = resource_group_resource("lab", &[]);
    interrupted_under_lag("", &group, "POST /v2/resource_groups", "ibmqr_resource_group.lab", made_resource_group_ids);
}

#[test]
fn interrupted_dynamic_rule() {
    let rule = rule_resource(&ml_members_rule(&[("project", "CONTAINS", "ml")]));
    interrupted_under_lag(&ml_group(), &rule, "POST /v2/groups/{id}/rules", "ibmqr_access_group_dynamic_rule.ml", rule_ids);
}

#[test]
fn interrupted_identity_provider() {
    let idp = resource(
        "ibmqr_identity_provider",
        "campus",
        &[("name", quoted("Campus")), ("type", quoted("appid")), ("appid_directory_id", format!("{DIRECTORY}.id"))],
        &[],
    );
    let idps = |emu: &Emulator| emu.stored("idps").iter().map(|i| i["idp_id"].as_str().expect("idp_id").to_string()).collect();
    interrupted_under_lag(&directory_resource("campus-users", &[]), &idp, "POST /v1/idps/", "ibmqr_identity_provider.campus", idps);
}

const MEMBERS_ROUTE: &str = "PUT /v2/groups/{id}/members";

#[test]
fn interrupted_access_group_member() {
    let group = access_group_resource("ci", "ci", None);
    let bot = member_resource("bot", "ci", BOT_SERVICE_ID);
    interrupted_under_lag(&group, &bot, MEMBERS_ROUTE, "ibmqr_access_group_member.bot", memberships);
}

#[test]
fn interrupted_access_group_members() {
    const IN_GROUP: &str = "IBMid-270000AAAA";
    let members = ml_members(&[("iam_ids", &[IN_GROUP])]);
    // The list is the group's: state names it by the group, and the group holds the one member.
    let made = |emu: &Emulator| {
        let groups = group_ids(emu);
        assert_eq!(memberships(emu), groups.iter().map(|g| format!("{g}/{IN_GROUP}")).collect::<Vec<_>>(), "the member, once");
        groups
    };
    interrupted_under_lag(&ml_group(), &members, MEMBERS_ROUTE, "ibmqr_access_group_members.ml", made);
}

const INSTANCES_ROUTE: &str = "POST /v2/resource_instances";

#[test]
fn interrupted_instance() {
    let attributes =
        [("name", quoted("qr-main")), ("plan", quoted("open")), ("region", quoted("us-east")), ("purge_on_destroy", "true".to_string())];
    let instance = resource("ibmqr_instance", "qr", &attributes, &[]);
    interrupted_under_lag("", &instance, INSTANCES_ROUTE, "ibmqr_instance.qr", live_instances);
}

#[test]
fn interrupted_appid_directory() {
    interrupted_under_lag("", &directory_resource("campus-users", &[]), INSTANCES_ROUTE, DIRECTORY, live_directories);
}

/// Interrupted while IBM processes the invitation, before the person is listed: state keeps the
/// invitation by email, its IAM ID unknown; the next apply's destroy finds the person by email,
/// and the new invitation leaves one person, in the group once.
#[test]
fn interrupted_user_invite() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&(ml_group() + &ml_invite("fatima", "fatima@example.edu")));
    emu.set_invite_settings(InviteSettings { processing_ms: Some((SLOW_SECONDS * 1000.0) as u64), ..InviteSettings::default() });
    interrupt_after_create(&emu, &ws, "POST /v2/accounts/{account_id}/users");
    let address = "ibmqr_user_invite.fatima";
    let state = ws.state_json();
    let kept = state_resource(&state, address).unwrap_or_else(|| panic!("the interrupted invite is not in state: {state}"));
    assert!(kept.tainted, "kept tainted, to be replaced by the next apply: {state}");
    assert_eq!((&kept.values["email"], &kept.values["iam_id"]), (&"fatima@example.edu".into(), &serde_json::Value::Null));
    assert_eq!(user_ids(&emu).len(), 1, "the invitation went out once");

    emu.set_invite_settings(InviteSettings::default());
    let said = flat(&ws.apply_ok().stdout);
    assert!(said.contains(&format!("{address} is tainted, so must be replaced")), "{said}");
    let state = ws.state_json();
    let now = state_resource(&state, address).expect("in state after the next apply");
    assert!(!now.tainted);
    let users = user_ids(&emu);
    assert_eq!(users, vec![now.string("iam_id")], "one person, and state names them");
    let group_id = group_ids(&emu).pop().expect("group");
    assert_eq!(memberships(&emu), [format!("{group_id}/{}", users[0])], "the person is in the group once");
    ws.assert_no_changes();
}
