//! Import verification, the equivalent of the SDK's ImportStateVerify: for every resource type,
//! apply a configuration that creates it (optional attributes set where that means something),
//! take the applied state, remove the object from state, import it by its import ID, and compare
//! every attribute of the imported object with the applied one. Only the attributes each test
//! lists, each with its reason, may differ. Then the plan must be empty, or plan exactly the
//! change those attributes explain.

use std::collections::BTreeSet;

use crate::harness::{
    access_group_resource, assert_imported_matches, ci_group_with_bot, hcl_strings, ml_group, ml_invite, ml_members, ml_members_rule,
    ml_policy, planned_change, quoted, resource, role_resource, rule_resource, state_values, timeouts, Emulator, Workspace, ACCOUNT_ID,
};

/// `timeouts` lives only in the configuration: IBM stores no such thing, so import leaves it null.
const TIMEOUTS_NOT_STORED: (&str, &str) = ("timeouts", "configuration-only wait limits IBM does not store; import leaves them null");

/// Applies the workspace's configuration and returns the applied `values` of each address.
fn apply_and_read<const N: usize>(ws: &Workspace, addresses: [&str; N]) -> [serde_json::Value; N] {
    ws.apply_ok();
    let state = ws.state_json();
    addresses.map(|address| state_values(&state, address))
}

/// Removes each address from state, imports it again by its import ID, and returns the imported
/// `values` in the same order.
fn forget_and_import<const N: usize>(ws: &Workspace, imports: [(&str, &str); N]) -> [serde_json::Value; N] {
    let addresses = imports.map(|(address, _)| address);
    ws.state_rm_ok(&addresses);
    for (address, id) in imports {
        ws.import_ok(address, id);
    }
    let state = ws.state_json();
    addresses.map(|address| state_values(&state, address))
}

fn string(values: &serde_json::Value, name: &str) -> String {
    values[name].as_str().unwrap_or_else(|| panic!("{name} is not a string in {values}")).to_string()
}

#[test]
fn custom_role() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&role_resource("QiskitRuntimeUser", "Qiskit Runtime user", &["quantum-computing.job.read", "quantum-computing.job.create"]));
    let [applied] = apply_and_read(&ws, ["ibmqr_custom_role.member"]);
    let [imported] = forget_and_import(&ws, [("ibmqr_custom_role.member", &string(&applied, "id"))]);
    assert_imported_matches("ibmqr_custom_role.member", &applied, &imported, &[]);
    ws.assert_no_changes();
}

/// `ibmqr_account_settings.this` with every setting configured.
fn every_account_setting() -> String {
    let attributes = [
        ("user_list_visibility", quoted("restricted")),
        ("api_key_creation", quoted("restricted")),
        ("service_id_creation", quoted("unrestricted")),
        ("mfa", quoted("TOTP")),
        ("session_expiration_seconds", "3600".to_string()),
        ("session_invalidation_seconds", "1800".to_string()),
        ("max_sessions_per_identity", "5".to_string()),
        ("allowed_ip_addresses", hcl_strings(&["10.0.0.0/8", "192.168.1.1"])),
        ("invitation_email_domains", hcl_strings(&["*@example.edu"])),
    ];
    resource("ibmqr_account_settings", "this", &attributes, &[])
}

/// Every setting is configured, so every one is managed and in the applied state: import, which
/// reads all of them, must then give the same object.
#[test]
fn account_settings() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&every_account_setting());
    let [applied] = apply_and_read(&ws, ["ibmqr_account_settings.this"]);
    assert_eq!(string(&applied, "id"), ACCOUNT_ID);
    let [imported] = forget_and_import(&ws, [("ibmqr_account_settings.this", ACCOUNT_ID)]);
    assert_imported_matches("ibmqr_account_settings.this", &applied, &imported, &[]);
    ws.assert_no_changes();
}

/// The Premium instance `qr` in the resource group `lab`, with every setting configured.
fn premium_instance_in_lab() -> String {
    let attributes = [
        ("name", quoted("qr-main")),
        ("plan", quoted("premium")),
        ("region", quoted("eu-de")),
        ("resource_group_id", "ibmqr_resource_group.lab.id".to_string()),
        ("tags", hcl_strings(&["env:dev", "team-a"])),
        ("instance_limit_seconds", "900".to_string()),
        ("usage_allocation_seconds", "3600".to_string()),
        ("backends", hcl_strings(&["ibm_torino", "ibm_fez"])),
        ("purge_on_destroy", "true".to_string()),
    ];
    resource("ibmqr_instance", "qr", &attributes, &[timeouts(&[("create", "5m"), ("update", "6m"), ("delete", "7m")])])
}

/// The resource group `lab` with every setting configured.
fn every_group_setting() -> String {
    let attributes = [("name", quoted("lab")), ("purge_reclamations_on_destroy", "true".to_string())];
    resource("ibmqr_resource_group", "lab", &attributes, &[timeouts(&[("create", "4m"), ("delete", "15m")])])
}

/// A resource group and a Premium instance in it with every setting configured. Tags are written
/// lowercase, as IBM stores them: mixed-case tags would come back lowercase from an import (import
/// cannot know how the configuration spells them) and plan an in-place tag change.
#[test]
fn resource_group_and_instance() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&(every_group_setting() + &premium_instance_in_lab()));
    let addresses = ["ibmqr_resource_group.lab", "ibmqr_instance.qr"];
    let [group, instance] = apply_and_read(&ws, addresses);
    let (group_id, crn) = (string(&group, "id"), string(&instance, "crn"));
    let [imported_group, imported_instance] = forget_and_import(&ws, [(addresses[0], &group_id), (addresses[1], &crn)]);

    let what_destroy_does = "what destroy does is configuration only; IBM does not store it, so import takes the default, false";
    let purge_reclamations = ("purge_reclamations_on_destroy", what_destroy_does);
    assert_imported_matches(addresses[0], &group, &imported_group, &[purge_reclamations, TIMEOUTS_NOT_STORED]);
    let purge = ("purge_on_destroy", what_destroy_does);
    assert_imported_matches(addresses[1], &instance, &imported_instance, &[purge, TIMEOUTS_NOT_STORED]);

    // Those configuration-only attributes are all the plan changes, in place; nothing is replaced.
    let plan = ws.plan_json();
    let (actions, changed) = planned_change(&plan, addresses[0]);
    let expected = BTreeSet::from(["purge_reclamations_on_destroy".to_string(), "timeouts".to_string()]);
    assert_eq!((actions, changed), (vec!["update".to_string()], expected), "{plan}");
    let (actions, changed) = planned_change(&plan, addresses[1]);
    let expected = BTreeSet::from(["purge_on_destroy".to_string(), "timeouts".to_string()]);
    assert_eq!((actions, changed), (vec!["update".to_string()], expected), "{plan}");
    ws.apply_ok();
    ws.assert_no_changes();
}

/// Two access groups: the first with its exclusive member list (all three kinds of member), a
/// dynamic rule and a policy; the second with one additive membership (the exclusive list would
/// remove it from the first).
#[test]
fn access_group_members_member_dynamic_rule_and_policy() {
    let emu = Emulator::start();
    // A policy scoped to a resource group: the account's Default group, which exists from the start.
    let default_group = emu.stored("resource_groups").into_iter().find(|g| g["default"] == true).expect("Default resource group");
    let default_group_id = string(&default_group, "id");
    let ws = Workspace::new(&emu);
    let rule = ml_members_rule(&[("project", "CONTAINS", "ml"), ("department", "IN", "research,engineering")]);
    ws.write(
        &[
            access_group_resource("ml", "project-ml", Some("Machine learning project")),
            ci_group_with_bot(),
            ml_members(&[
                ("iam_ids", &["IBMid-270000AAAA", "IBMid-270000BBBB"]),
                ("service_ids", &["iam-ServiceId-0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f"]),
                ("profile_ids", &["iam-Profile-1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"]),
            ]),
            rule_resource(&rule),
            ml_policy(&["Viewer", "Writer"], &[("resource_group_id", quoted(&default_group_id))]),
        ]
        .concat(),
    );
    let addresses = [
        "ibmqr_access_group.ml",
        "ibmqr_access_group.ci",
        "ibmqr_access_group_members.ml",
        "ibmqr_access_group_member.bot",
        "ibmqr_access_group_dynamic_rule.ml",
        "ibmqr_access_group_policy.ml",
    ];
    let applied = apply_and_read(&ws, addresses);
    // Each type's import ID, as its import.sh documents it.
    let ids = applied.each_ref().map(|values| string(values, "id"));
    let (ml, ci) = (&ids[0], &ids[1]);
    assert_eq!(&ids[2], ml, "the member list is imported by the group's ID");
    assert!(ids[3].starts_with(&format!("{ci}/iam-ServiceId-")), "a membership is GROUP_ID/IAM_ID: {}", ids[3]);
    assert!(ids[4].starts_with(&format!("{ml}/ClaimRule-")), "a rule is GROUP_ID/RULE_ID: {}", ids[4]);
    let imports: [(&str, &str); 6] = std::array::from_fn(|i| (addresses[i], ids[i].as_str()));
    let imported = forget_and_import(&ws, imports);

    for ((address, applied), imported) in addresses.iter().zip(&applied).zip(&imported) {
        assert_imported_matches(address, applied, imported, &[]);
    }
    ws.assert_no_changes();
}

/// Two people: one invited by this configuration, and one already ACTIVE in the account, whom the
/// configuration adopts. Import takes a person by email and cannot know whether this
/// configuration invited or adopted them.
#[test]
fn user_invites_invited_and_adopted() {
    let emu = Emulator::start();
    let adopted_iam_id = "IBMid-270000OLGA0";
    emu.put_object(
        "users",
        adopted_iam_id,
        serde_json::json!({
            "id": adopted_iam_id, "iam_id": adopted_iam_id, "email": "olga@example.edu", "state": "ACTIVE", "realm": "IBMid",
            "account_id": ACCOUNT_ID
        }),
    );
    let ws = Workspace::new(&emu);
    ws.write(&(ml_group() + &ml_invite("fatima", "fatima@example.edu") + &ml_invite("olga", "olga@example.edu")));
    let addresses = ["ibmqr_user_invite.fatima", "ibmqr_user_invite.olga"];
    let [invited, adopted] = apply_and_read(&ws, addresses);
    assert_eq!((invited["adopted"].as_bool(), adopted["adopted"].as_bool()), (Some(false), Some(true)), "{invited}\n{adopted}");
    let [imported_invited, imported_adopted] =
        forget_and_import(&ws, [(addresses[0], "fatima@example.edu"), (addresses[1], "olga@example.edu")]);

    // Someone this configuration invited imports exactly as applied.
    assert_imported_matches(addresses[0], &invited, &imported_invited, &[]);
    // Someone it adopted imports as if invited: whether they were in the account before is known
    // only to the create that found them there.
    let adopted_differs = [
        ("adopted", "whether the create found the person already in the account; import cannot know, and says false"),
        ("preexisting_access_group_ids", "the memberships the person had before the create adopted them; import cannot know"),
    ];
    assert_imported_matches(addresses[1], &adopted, &imported_adopted, &adopted_differs);
    // Both are computed only, so the plan is empty.
    ws.assert_no_changes();
}

#[test]
fn federated_types() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    let idp = resource(
        "ibmqr_identity_provider",
        "campus",
        &[
            ("name", quoted("Campus")),
            ("type", quoted("appid")),
            ("appid_directory_id", "ibmqr_appid_directory.campus.id".into()),
            ("onboarding", quoted("dynamic")),
        ],
        &[],
    );
    ws.write(&format!(
        "{}\n{idp}",
        crate::appid::user_config(&["ml", "chem"], &[("given_name", quoted("Ada")), ("display_name", quoted("Ada L."))])
    ));
    let addresses = [crate::appid::DIRECTORY, crate::appid::ADA, "ibmqr_identity_provider.campus"];
    let applied = apply_and_read(&ws, addresses);
    let imported = forget_and_import(
        &ws,
        [
            (addresses[0], &string(&applied[0], "id")),
            (addresses[1], &string(&applied[1], "id")),
            (addresses[2], &string(&applied[2], "id")),
        ],
    );
    for (i, address) in addresses.iter().enumerate() {
        assert_imported_matches(address, &applied[i], &imported[i], &[]);
    }
    ws.assert_no_changes();
}
