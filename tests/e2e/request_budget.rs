//! Requests per resource, counted by the emulator: refresh is one GET for a type whose state lives
//! in one API, and an invitation costs the same whatever the number of people in the account.

use crate::harness::*;

/// The emulator's request counts, without the token exchange (counted separately).
fn counts_without_token(emu: &Emulator) -> serde_json::Map<String, serde_json::Value> {
    let mut counts = emu.request_counts()["counts"].as_object().cloned().unwrap_or_default();
    counts.remove("POST /identity/token");
    counts.retain(|_, n| n.as_u64() != Some(0));
    counts
}

fn seed_users(emu: &Emulator, how_many: usize) {
    for i in 0..how_many {
        let email = format!("member{i}@example.edu");
        let iam_id = format!("IBMid-seed{i:06}");
        emu.put_object(
            "users",
            &iam_id,
            serde_json::json!({"id": iam_id, "iam_id": iam_id, "realm": "IBMid", "user_id": email, "email": email,
                               "state": "ACTIVE", "account_id": ACCOUNT_ID, "firstname": "", "lastname": ""}),
        );
    }
}

/// One access group, one policy, one invitation into the group and one that manages no group.
fn config() -> String {
    let solo = resource("ibmqr_user_invite", "solo", &[("email", quoted("solo@example.edu"))], &[]);
    ml_group() + &ml_policy(&["Viewer"], &[]) + &ml_invite("ada", "ada@example.edu") + &solo
}

#[test]
fn refresh_is_one_get_per_resource_and_invites_a_stated_budget() {
    let emu = Emulator::start();
    emu.set_invite_settings(InviteSettings { processing_ms: Some(0), ..InviteSettings::default() });
    let ws = Workspace::new(&emu);
    ws.write(&config());
    ws.apply_ok();
    emu.reset_request_counts();
    ws.assert_no_changes();
    let mut counts = counts_without_token(&emu);
    // Each invitation reads its person with one search by email; invitations read at the same
    // time share one, so the two here cost one or two.
    let searches = counts.remove("GET /v2/accounts/{account_id}/users").and_then(|n| n.as_u64()).unwrap_or(0);
    assert!((1..=2).contains(&searches), "searches for two invitations: {searches}");
    let expected = serde_json::json!({
        "GET /v2/groups/{id}": 1,
        "GET /v1/policies/{id}": 1,
        // The invitation that manages a group also needs the group's members: listed once per
        // provider process, shared by every invitation into the group.
        "GET /v2/groups/{id}/members": 1,
        // Not the refresh: the plan checks role names against the service's roles, one look-up
        // per provider process and service, shared by every policy.
        "GET /v2/roles": 1,
    });
    assert_eq!(serde_json::Value::Object(counts), expected);
}

/// One group with one policy and one invitation that manages no group: refresh is one GET each.
#[test]
fn refresh_of_one_group_one_policy_one_invite_is_one_get_each() {
    let emu = Emulator::start();
    emu.set_invite_settings(InviteSettings { processing_ms: Some(0), ..InviteSettings::default() });
    let ws = Workspace::new(&emu);
    ws.write(
        &(ml_group()
            + &ml_policy(&["Viewer"], &[])
            + &resource("ibmqr_user_invite", "solo", &[("email", quoted("solo@example.edu"))], &[])),
    );
    ws.apply_ok();
    emu.reset_request_counts();
    ws.assert_no_changes();
    let expected = serde_json::json!({
        "GET /v2/groups/{id}": 1,
        "GET /v1/policies/{id}": 1,
        "GET /v2/accounts/{account_id}/users": 1,
        "GET /v2/roles": 1,
    });
    assert_eq!(serde_json::Value::Object(counts_without_token(&emu)), expected);
}

/// The requests of `terraform apply` (create) and then of a no-op plan (refresh) for one invitation
/// into one group, in an account that already has `users` people.
fn invite_costs(users: usize) -> (serde_json::Map<String, serde_json::Value>, serde_json::Map<String, serde_json::Value>) {
    let emu = Emulator::start();
    emu.set_invite_settings(InviteSettings { processing_ms: Some(0), ..InviteSettings::default() });
    seed_users(&emu, users);
    let ws = Workspace::new(&emu);
    ws.write(&ml_group());
    ws.apply_ok();
    ws.write(&(ml_group() + &ml_invite("ada", "ada@example.edu")));
    emu.reset_request_counts();
    ws.apply_ok();
    // The apply also refreshes the group (one GET); the rest is the invitation's create.
    let create = counts_without_token(&emu);
    emu.reset_request_counts();
    ws.assert_no_changes();
    (create, counts_without_token(&emu))
}

#[test]
fn an_invite_costs_the_same_with_5_or_500_people_in_the_account() {
    let (create_small, refresh_small) = invite_costs(5);
    let (create_large, refresh_large) = invite_costs(500);
    assert_eq!(create_small, create_large);
    assert_eq!(refresh_small, refresh_large);
    // The create: the POST and one search that sees the invitation processed; plus the group's
    // refresh.
    let expected_create = serde_json::json!({
        "GET /v2/groups/{id}": 1,
        "GET /v2/accounts/{account_id}/users": 1,
        "POST /v2/accounts/{account_id}/users": 1,
    });
    assert_eq!(serde_json::Value::Object(create_small.clone()), expected_create);
    let expected_refresh = serde_json::json!({
        "GET /v2/groups/{id}": 1,
        "GET /v2/accounts/{account_id}/users": 1,
        "GET /v2/groups/{id}/members": 1,
    });
    assert_eq!(serde_json::Value::Object(refresh_small), expected_refresh);
}
