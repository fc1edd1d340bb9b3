//! `ibmqr_appid_directory` and `ibmqr_appid_user` against the emulated Resource Controller and
//! App ID management API.

use serde_json::json;

use crate::harness::{quoted, resource, Emulator, Workspace};

pub const DIRECTORY: &str = "ibmqr_appid_directory.campus";

/// The directory `campus` with the given extra attributes.
pub fn directory_resource(name: &str, extra: &[(&str, String)]) -> String {
    let mut attributes = vec![("name", quoted(name))];
    attributes.extend(extra.iter().cloned());
    resource("ibmqr_appid_directory", "campus", &attributes, &[])
}

/// The stored App ID instance (RC record) of the directory.
fn instance(emu: &Emulator) -> serde_json::Value {
    let all = emu.stored("instances");
    all.into_iter().find(|i| i["crn"].as_str().is_some_and(|c| c.contains(":appid:"))).expect("an App ID instance")
}

fn config(emu: &Emulator, tenant: &str) -> serde_json::Value {
    emu.object("appid_config", tenant)
}

#[test]
fn directory_lifecycle_updates_drift_and_import() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&directory_resource("campus-users", &[]));
    ws.apply_ok();
    let created = instance(&emu);
    let tenant = created["guid"].as_str().expect("guid").to_string();
    let stored = config(&emu, &tenant);
    assert_eq!(stored["cloud_directory"]["isActive"], true);
    assert_eq!(stored["cloud_directory"]["config"]["signupEnabled"], false, "self sign-up off by default");
    assert_eq!(stored["cloud_directory"]["config"]["interactions"]["welcomeEnabled"], true);
    assert_eq!(stored["cloud_directory"]["config"]["interactions"]["resetPasswordEnabled"], true);
    assert_eq!(stored["facebook"]["isActive"], false);
    assert_eq!(stored["google"]["isActive"], false);
    assert_eq!(
        stored["tokens"]["idTokenClaims"],
        json!([{"source": "attributes", "sourceClaim": "project", "destinationClaim": "project"}])
    );
    let state = ws.state_json();
    let values = &state["values"]["root_module"]["resources"][0]["values"];
    assert_eq!(values["tenant_id"], tenant.as_str());
    assert_eq!(values["region"], "us-east");
    assert!(values["management_url"].as_str().is_some_and(|u| u.ends_with(&format!("/management/v4/{tenant}"))), "{values}");
    ws.assert_no_changes();

    // In place: name, login field, sign-up, social logins, the mapped attribute (other mappings stay).
    let mut tokens = stored["tokens"].clone();
    tokens["idTokenClaims"]
        .as_array_mut()
        .expect("claims")
        .push(json!({"source": "attributes", "sourceClaim": "role", "destinationClaim": "role"}));
    emu.patch_object("appid_config", &tenant, json!({"tokens": tokens}));
    ws.write(&directory_resource(
        "campus-people",
        &[
            ("login_field", quoted("username")),
            ("self_signup", "true".into()),
            ("social_logins", "true".into()),
            ("project_attribute", quoted("projects")),
        ],
    ));
    ws.plan_changes_exactly(&[(DIRECTORY, &["update"])]);
    ws.apply_ok();
    assert_eq!(instance(&emu)["guid"], tenant.as_str(), "same instance");
    assert_eq!(instance(&emu)["name"], "campus-people");
    let stored = config(&emu, &tenant);
    assert_eq!(stored["cloud_directory"]["config"]["identityField"], "userName");
    assert_eq!(stored["cloud_directory"]["config"]["signupEnabled"], true);
    assert_eq!(stored["google"]["isActive"], true);
    let claims: Vec<&str> =
        stored["tokens"]["idTokenClaims"].as_array().expect("claims").iter().filter_map(|c| c["sourceClaim"].as_str()).collect();
    assert_eq!(claims, ["role", "projects"], "the other mapping stays, the owned one moved");
    ws.assert_no_changes();

    // Drift in each managed setting is seen and put back.
    emu.patch_object("appid_config", &tenant, json!({"cloud_directory": {"config": {"interactions": {"welcomeEnabled": false}}}}));
    ws.plan_changes_exactly(&[(DIRECTORY, &["update"])]);
    ws.apply_ok();
    assert_eq!(config(&emu, &tenant)["cloud_directory"]["config"]["interactions"]["welcomeEnabled"], true);
    emu.patch_object(
        "appid_config",
        &tenant,
        json!({"facebook": {"isActive": false}, "google": {"isActive": false}, "tokens": {"idTokenClaims": []}}),
    );
    ws.plan_changes_exactly(&[(DIRECTORY, &["update"])]);
    ws.apply_ok();
    let stored = config(&emu, &tenant);
    assert_eq!(stored["facebook"]["isActive"], true);
    assert_eq!(stored["tokens"]["idTokenClaims"][0]["sourceClaim"], "projects");
    ws.assert_no_changes();

    // Import by CRN into another configuration: no changes.
    let crn = instance(&emu)["crn"].as_str().expect("crn").to_string();
    let adopter = Workspace::new(&emu);
    adopter.write(&directory_resource(
        "campus-people",
        &[
            ("login_field", quoted("username")),
            ("self_signup", "true".into()),
            ("social_logins", "true".into()),
            ("project_attribute", quoted("projects")),
        ],
    ));
    adopter.import_ok(DIRECTORY, &crn);
    adopter.assert_no_changes();

    // Deleted behind Terraform's back: planned again.
    ws.destroy_ok();
    assert_eq!(instance(&emu)["state"], "pending_reclamation");
    let bad = adopter.import(DIRECTORY, "crn:v1:bluemix:public:appid:us-east:a/x:nope::");
    assert_ne!(bad.code, 0);
}

#[test]
fn directory_bad_input_fails_at_plan_on_the_attribute() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&directory_resource("d", &[("plan", quoted("gold")), ("login_field", quoted("phone"))]));
    let out = ws.plan();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("plan") && out.stderr.contains("lite, graduated-tier"), "{}", out.stderr);
    assert!(out.stderr.contains("login_field") && out.stderr.contains("email, username"), "{}", out.stderr);
}

pub const ADA: &str = "ibmqr_appid_user.ada";

/// The directory and the user `ada` with `projects` and extra attributes.
pub fn user_config(projects: &[&str], extra: &[(&str, String)]) -> String {
    let mut attributes = vec![
        ("directory_id", "ibmqr_appid_directory.campus.id".to_string()),
        ("email", quoted("Ada@Uni.example")),
        ("projects", crate::harness::hcl_strings(projects)),
    ];
    attributes.extend(extra.iter().cloned());
    format!("{}\n{}", directory_resource("campus-users", &[]), resource("ibmqr_appid_user", "ada", &attributes, &[]))
}

fn users(emu: &Emulator) -> Vec<serde_json::Value> {
    emu.stored("appid_users")
}

fn profile_of(emu: &Emulator, user: &serde_json::Value) -> serde_json::Value {
    let tenant = instance(emu)["guid"].as_str().expect("guid").to_string();
    emu.object("appid_profiles", &format!("{tenant}/{}", user["_profile_id"].as_str().expect("profile")))
}

fn user_values(ws: &Workspace) -> serde_json::Value {
    let state = ws.state_json();
    state["values"]["root_module"]["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["address"] == ADA)
        .map(|r| r["values"].clone())
        .expect("the user in state")
}

#[test]
fn user_lifecycle_projects_drift_and_import() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&user_config(&["ml", "chem"], &[("given_name", quoted("Ada"))]));
    ws.apply_ok();
    let stored = users(&emu);
    assert_eq!(stored.len(), 1);
    let user = &stored[0];
    assert_eq!(user["emails"][0]["value"], "Ada@Uni.example");
    assert_eq!(user["name"]["givenName"], "Ada");
    assert!(user["_password_set_at"].is_string(), "signed up with a password");
    assert_eq!(profile_of(&emu, user)["attributes"]["project"], "chem ml", "one sorted, space-separated string");
    let values = user_values(&ws);
    assert_eq!(values["status"], "PENDING");
    assert_eq!(values["profile_id"], user["_profile_id"]);
    assert_eq!(values["id"], format!("{}/{}", values["tenant_id"].as_str().unwrap(), user["id"].as_str().unwrap()));
    assert!(values["password_wo"].is_null());
    ws.assert_no_changes();

    // Order and spacing are never a diff.
    let key = format!("{}/{}", values["tenant_id"].as_str().unwrap(), user["_profile_id"].as_str().unwrap());
    emu.patch_object("appid_profiles", &key, json!({"attributes": {"project": "  ml   chem ", "other": "kept"}}));
    ws.assert_no_changes();

    // In place: projects and names.
    ws.write(&user_config(&["bio"], &[("given_name", quoted("Ada")), ("family_name", quoted("Lovelace")), ("active", "false".into())]));
    ws.plan_changes_exactly(&[(ADA, &["update"])]);
    ws.apply_ok();
    let user = users(&emu).remove(0);
    assert_eq!(user["id"], values["user_id"], "same user");
    assert_eq!(user["name"]["familyName"], "Lovelace");
    assert_eq!(user["active"], false);
    let profile = profile_of(&emu, &user);
    assert_eq!(profile["attributes"]["project"], "bio");
    assert_eq!(profile["attributes"]["other"], "kept", "other attributes stay");
    ws.assert_no_changes();

    // Drift: projects changed in the console; the user deleted.
    emu.patch_object("appid_profiles", &key, json!({"attributes": {"project": "ml"}}));
    ws.plan_changes_exactly(&[(ADA, &["update"])]);
    ws.apply_ok();
    assert_eq!(profile_of(&emu, &users(&emu)[0])["attributes"]["project"], "bio");

    // Import by TENANT_ID/USER_ID: no changes.
    let adopter = Workspace::new(&emu);
    adopter
        .write(&user_config(&["bio"], &[("given_name", quoted("Ada")), ("family_name", quoted("Lovelace")), ("active", "false".into())]));
    adopter.import_ok(DIRECTORY, values["directory_id"].as_str().unwrap());
    adopter.import_ok(ADA, values["id"].as_str().unwrap());
    adopter.assert_no_changes();
    let bad = adopter.import("ibmqr_appid_user.ada", "no-such-tenant/x");
    assert_ne!(bad.code, 0);
    assert!(bad.all().contains("TENANT_ID/USER_ID") || bad.all().contains("no App ID instance"), "{}", bad.all());

    let tenant = values["tenant_id"].as_str().unwrap();
    emu.delete_object("appid_users", &format!("{tenant}/{}", values["user_id"].as_str().unwrap()));
    ws.plan_changes_exactly(&[(ADA, &["create"])]);
    ws.destroy_ok();
    assert!(users(&emu).is_empty());
}

/// No password, API key or token in state, saved plan, TF_LOG=trace output or error text.
fn assert_secret_free(ws: &Workspace, what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "{what} holds a secret ({secret}): {}", &text[..text.len().min(2000)]);
    }
    let _ = ws;
}

fn saved_plan_text(ws: &Workspace) -> String {
    let out = ws.terraform(&["plan", "-out=secret.tfplan", "-input=false", "-no-color"]);
    assert!(out.code == 0, "plan failed:\n{}", out.all());
    let unpacked = ws.path().join("secret.tfplan.unpacked");
    crate::harness::unpack_saved_plan(&ws.path().join("secret.tfplan"), &unpacked);
    let members: String = crate::harness::files_under(&unpacked)
        .iter()
        .map(|member| String::from_utf8_lossy(&std::fs::read(member).expect("a member of the saved plan")).into_owned())
        .collect();
    let shown = ws.terraform(&["show", "-json", "-no-color", "secret.tfplan"]);
    format!("{members}{}", shown.stdout)
}

#[test]
fn no_password_in_state_plan_or_logs() {
    let emu = Emulator::start();
    let mut ws = Workspace::new(&emu);
    let with_password = crate::harness::terraform_has((1, 11), "write-only attributes", "a user signed up with a random password");
    let password = "Campus-Secret-Passw0rd-42";
    let extra: Vec<(&str, String)> =
        if with_password { vec![("password_wo", "var.initial_password".into()), ("password_wo_version", "1".into())] } else { vec![] };
    let variable = "variable \"initial_password\" {\n  type      = string\n  sensitive = true\n  ephemeral = true\n}\n";
    ws.write(&format!("{}{}", if with_password { variable } else { "" }, user_config(&["ml"], &extra)));
    ws.extra_env.push(("TF_VAR_initial_password".into(), password.into()));
    ws.extra_env.push(("TF_LOG".into(), "trace".into()));
    let applied = ws.apply_ok();
    let secrets = [password, crate::harness::API_KEY];
    assert_secret_free(&ws, "apply output at TF_LOG=trace", &applied.all(), &secrets);
    ws.extra_env.retain(|(k, _)| k != "TF_LOG");
    let state = std::fs::read_to_string(ws.path().join("terraform.tfstate")).expect("state");
    assert_secret_free(&ws, "state", &state, &secrets);
    assert!(state.contains("\"password_wo\": null"), "the write-only value is null in state");
    // The random password is never kept either: state holds no password-like value.
    assert!(!state.contains("-Aa1"), "the random password leaked into state");
    let user = users(&emu).remove(0);
    let set_at = user["_password_set_at"].clone();

    ws.extra_env.push(("TF_LOG".into(), "trace".into()));
    let plan_text = saved_plan_text(&ws);
    assert_secret_free(&ws, "saved plan", &plan_text, &secrets);
    ws.extra_env.retain(|(k, _)| k != "TF_LOG");

    if with_password {
        // Rotation: a new version sets the password again, in place.
        ws.write(&format!(
            "{variable}{}",
            user_config(&["ml"], &[("password_wo", "var.initial_password".into()), ("password_wo_version", "2".into())])
        ));
        ws.extra_env.push(("TF_VAR_initial_password".into(), "Rotated-Passw0rd-43".into()));
        ws.plan_changes_exactly(&[(ADA, &["update"])]);
        std::thread::sleep(std::time::Duration::from_millis(5));
        let out = ws.apply_ok();
        assert_secret_free(&ws, "rotation", &out.all(), &["Rotated-Passw0rd-43"]);
        assert_ne!(users(&emu)[0]["_password_set_at"], set_at, "the password was set again");
        ws.assert_no_changes();
    }

    // Error text: a failing sign-up names no password.
    let failing = Workspace::new(&emu);
    failing.write(&format!(
        "{}\n{}",
        user_config(&["ml"], &[]),
        resource(
            "ibmqr_appid_user",
            "twin",
            &[("directory_id", quoted("crn:v1:bluemix:public:appid:us-east:a/x:missing-tenant::")), ("email", quoted("twin@uni.example"))],
            &[]
        )
    ));
    let out = failing.apply();
    assert_ne!(out.code, 0);
    assert_secret_free(&failing, "error text", &out.all(), &secrets);
}

#[test]
fn write_only_password_is_refused_by_terraform_without_support() {
    if crate::harness::terraform_has((1, 11), "write-only attributes", "the refusal of password_wo") {
        return;
    }
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&user_config(&["ml"], &[("password_wo", quoted("Plain-Passw0rd-1")), ("password_wo_version", "1".into())]));
    let out = ws.plan();
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("password_wo") && out.stderr.contains("Terraform 1.11 or later"), "{}", out.stderr);
    assert!(users(&emu).is_empty(), "nothing was made");
}
