//! `ibmqr_identity_provider` (App ID and SAML), `ibmqr_account_settings.login_alias`, the
//! account's IdP limit, and the login simulation that proves the rules match.

use serde_json::json;

use crate::appid::{directory_resource, DIRECTORY};
use crate::harness::{hcl_block, quoted, resource, rule_resource, Emulator, Rule, Workspace, ACCOUNT_ID};

const IDP: &str = "ibmqr_identity_provider.campus";
const CERT: &str = "MIIC-primary-certificate";

fn appid_idp(name: &str, extra: &[(&str, String)]) -> String {
    let mut attributes =
        vec![("name", quoted(name)), ("type", quoted("appid")), ("appid_directory_id", "ibmqr_appid_directory.campus.id".into())];
    attributes.extend(extra.iter().cloned());
    format!("{}\n{}", directory_resource("campus-users", &[]), resource("ibmqr_identity_provider", "campus", &attributes, &[]))
}

fn saml_idp(saml: &[(&str, String)], extra: &[(&str, String)]) -> String {
    let mut attributes = vec![("name", quoted("Campus SSO")), ("type", quoted("saml"))];
    attributes.extend(extra.iter().cloned());
    resource("ibmqr_identity_provider", "campus", &attributes, &[hcl_block("saml", saml, &[])])
}

fn state_values(ws: &Workspace, address: &str) -> serde_json::Value {
    let state = ws.state_json();
    state["values"]["root_module"]["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["address"] == address)
        .map(|r| r["values"].clone())
        .expect("in state")
}

#[test]
fn appid_identity_provider_lifecycle_drift_and_import() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&appid_idp("Campus App ID", &[]));
    ws.apply_ok();
    let idps = emu.stored("idps");
    assert_eq!(idps.len(), 1);
    let id = idps[0]["idp_id"].as_str().expect("idp_id").to_string();
    assert_eq!(idps[0]["type"], "appid");
    let crn = state_values(&ws, DIRECTORY)["id"].as_str().expect("crn").to_string();
    assert_eq!(idps[0]["properties"]["appid"]["instance_crn"], crn.as_str());
    let setting = emu.object("idp_settings", &format!("{ACCOUNT_ID}/{id}"));
    assert_eq!((setting["cloud_user_strategy"].as_str(), setting["ui_default"].as_bool()), (Some("STATIC"), Some(false)));
    let values = state_values(&ws, IDP);
    assert_eq!(values["realm"], format!("appid://{id}"));
    assert_eq!(values["login_url"], format!("https://cloud.ibm.com/authorize/{ACCOUNT_ID}/{id}"));
    assert_eq!(values["idp_id"], id.as_str());
    ws.assert_no_changes();

    // In place, with If-Match: name, onboarding, default login, active.
    ws.write(&appid_idp("Campus", &[("onboarding", quoted("dynamic")), ("default_for_login", "true".into()), ("active", "false".into())]));
    ws.plan_changes_exactly(&[(IDP, &["update"])]);
    ws.apply_ok();
    let stored = emu.object("idps", &id);
    assert_eq!((stored["name"].as_str(), stored["active"].as_bool()), (Some("Campus"), Some(false)));
    let setting = emu.object("idp_settings", &format!("{ACCOUNT_ID}/{id}"));
    assert_eq!((setting["cloud_user_strategy"].as_str(), setting["ui_default"].as_bool()), (Some("DYNAMIC"), Some(true)));
    ws.assert_no_changes();

    // Drift: renamed behind Terraform's back; its login setting removed.
    emu.patch_object("idps", &id, json!({"name": "renamed"}));
    ws.plan_changes_exactly(&[(IDP, &["update"])]);
    ws.apply_ok();
    assert_eq!(emu.object("idps", &id)["name"], "Campus");
    emu.delete_object("idp_settings", &format!("{ACCOUNT_ID}/{id}"));
    ws.plan_changes_exactly(&[(IDP, &["update"])]);
    ws.apply_ok();
    assert_eq!(emu.object("idp_settings", &format!("{ACCOUNT_ID}/{id}"))["cloud_user_strategy"], "DYNAMIC");
    ws.assert_no_changes();

    // Import by idp_id: no changes.
    let adopter = Workspace::new(&emu);
    adopter.write(&appid_idp(
        "Campus",
        &[("onboarding", quoted("dynamic")), ("default_for_login", "true".into()), ("active", "false".into())],
    ));
    adopter.import_ok(DIRECTORY, &crn);
    adopter.import_ok(IDP, &id);
    adopter.assert_no_changes();
    let missing = adopter.import("ibmqr_identity_provider.other", "nope");
    assert_ne!(missing.code, 0);

    // Deleted behind Terraform's back: created again.
    emu.delete_object("idps", &id);
    ws.plan_changes_exactly(&[(IDP, &["create"])]);
    ws.destroy_ok();
    assert!(emu.stored("idps").is_empty());
}

#[test]
fn saml_identity_provider_certificates_metadata_and_bad_input() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    let saml = |certs: &str| {
        vec![
            ("entity_id", quoted("https://idp.uni.example/saml")),
            ("sso_url", quoted("https://idp.uni.example/sso")),
            ("signing_certificates", certs.to_string()),
            ("claims", "{ project = \"urn:oid:1.3.6.1.4.1.5923.1.1.1.7\" }".to_string()),
        ]
    };
    ws.write(&saml_idp(&saml(&format!("[\"{CERT}\"]")), &[]));
    ws.apply_ok();
    let idp = emu.stored("idps").remove(0);
    let id = idp["idp_id"].as_str().expect("id").to_string();
    assert_eq!(idp["properties"]["idp"]["entity_id"], "https://idp.uni.example/saml");
    assert_eq!(idp["_secrets"]["idp"]["signing"][0]["value"], CERT);
    let values = state_values(&ws, IDP);
    let entity = format!("crn:v1:bluemix:public:iam-identity::a/{ACCOUNT_ID}::idp:{id}");
    assert_eq!(values["sp_entity_id"], entity.as_str());
    assert_eq!(values["realm"], entity.as_str(), "a SAML realm is the SP entity ID");
    assert!(values["sp_metadata"].as_str().is_some_and(|x| x.contains(&format!("entityID=\"{entity}\""))));
    ws.assert_no_changes();

    // A secondary certificate: in place, secrets sent.
    ws.write(&saml_idp(&saml(&format!("[\"{CERT}\", \"MIIC-secondary\"]")), &[]));
    ws.plan_changes_exactly(&[(IDP, &["update"])]);
    ws.apply_ok();
    assert_eq!(emu.object("idps", &id)["_secrets"]["idp"]["signing"][1]["type"], "secondary");
    ws.assert_no_changes();
    // Drift in properties is seen (secrets are never returned, so certificates cannot drift visibly).
    emu.patch_object("idps", &id, json!({"properties": {"idp": {"redirect_binding_url": "https://evil.example/sso"}}}));
    ws.plan_changes_exactly(&[(IDP, &["update"])]);
    ws.apply_ok();
    assert_eq!(emu.object("idps", &id)["properties"]["idp"]["redirect_binding_url"], "https://idp.uni.example/sso");

    let adopter = Workspace::new(&emu);
    adopter.write(&saml_idp(&saml(&format!("[\"{CERT}\", \"MIIC-secondary\"]")), &[]));
    adopter.import_ok(IDP, &id);
    // Certificates are not returned by IBM: an import cannot know them, so the plan sends them
    // once, in place; after that, nothing.
    let plan = adopter.plan_changes_exactly(&[(IDP, &["update"])]);
    let (before, after) = crate::harness::planned_before_and_after(&plan, IDP, "saml");
    let block = |v: &serde_json::Value| if v.is_array() { v[0].clone() } else { v.clone() };
    let (before, after) = (block(before), block(after));
    assert_eq!(before["entity_id"], after["entity_id"], "the rest was imported: {before} {after}");
    assert_eq!(before["claims"], after["claims"], "claims were imported: {before} {after}");
    assert!(before["signing_certificates"].is_null() && after["signing_certificates"].is_array(), "{before} {after}");
    adopter.apply_ok();
    adopter.assert_no_changes();
    ws.state_rm_ok(&[IDP]);
    adopter.destroy_ok();
    ws.destroy_ok();

    // From the campus IdP's metadata.xml instead.
    let xml = "<md:EntityDescriptor xmlns:md=\\\"urn:oasis:names:tc:SAML:2.0:metadata\\\" entityID=\\\"https://idp.uni.example/meta\\\"><md:IDPSSODescriptor><md:KeyDescriptor><ds:X509Certificate>MIIC-from-xml</ds:X509Certificate></md:KeyDescriptor><md:SingleSignOnService Binding=\\\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\\\" Location=\\\"https://idp.uni.example/sso2\\\"/></md:IDPSSODescriptor></md:EntityDescriptor>";
    ws.write(&saml_idp(&[("metadata_xml", format!("\"{xml}\""))], &[]));
    ws.apply_ok();
    let idp = emu.stored("idps").remove(0);
    assert_eq!(idp["properties"]["idp"]["entity_id"], "https://idp.uni.example/meta");
    assert_eq!(idp["_secrets"]["idp"]["signing"][0]["value"], "MIIC-from-xml");
    ws.assert_no_changes();

    // Bad input fails at plan, on the attribute.
    let bad = Workspace::new(&emu);
    bad.write(&saml_idp(&[("entity_id", quoted("https://idp.uni.example/saml"))], &[]));
    let out = bad.plan();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("saml.sso_url") || out.stderr.contains("sso_url"), "{}", out.stderr);
    bad.write(&resource("ibmqr_identity_provider", "x", &[("name", quoted("x")), ("type", quoted("appid"))], &[]));
    let out = bad.plan();
    assert!(out.code == 1 && out.stderr.contains("appid_directory_id"), "{}", out.stderr);
}

#[test]
fn a_sixth_identity_provider_fails_naming_the_five() {
    let emu = Emulator::start();
    for i in 1..=5 {
        let id = format!("Realm{i}");
        emu.put_object("idps", &id, json!({"idp_id": id, "account_id": ACCOUNT_ID, "name": format!("campus-{i}"), "type": "saml", "active": true, "properties": {}}));
    }
    let ws = Workspace::new(&emu);
    ws.write(&appid_idp("sixth", &[]));
    let out = ws.apply();
    assert_ne!(out.code, 0);
    let text = crate::harness::flat(&out.all());
    assert!(text.contains("IBM allows 5 identity providers per account"), "{text}");
    for i in 1..=5 {
        assert!(text.contains(&format!("\"campus-{i}\"")), "names campus-{i}: {text}");
    }
    assert_eq!(emu.stored("idps").len(), 5, "no sixth was made");
}

#[test]
fn login_alias_first_when_ibm_requires_it() {
    let emu = Emulator::start();
    emu.put_object("emulator_settings", "iam_idps", json!({"require_login_alias": true}));
    let ws = Workspace::new(&emu);
    ws.write(&appid_idp("Campus", &[]));
    let out = ws.apply();
    assert_ne!(out.code, 0);
    let text = crate::harness::flat(&out.all());
    assert!(text.contains("login_alias") && text.contains("ibmqr_account_settings"), "{text}");

    let settings = |alias: &str| resource("ibmqr_account_settings", "this", &[("login_alias", quoted(alias))], &[]);
    ws.write(&format!("{}\n{}", settings("qiskit-campus"), appid_idp("Campus", &[("depends_on", "[ibmqr_account_settings.this]".into())])));
    ws.apply_ok();
    assert_eq!(emu.object("login_settings", ACCOUNT_ID)["alias"], "qiskit-campus");
    ws.assert_no_changes();
    ws.write(&format!(
        "{}\n{}",
        settings("quantum-campus"),
        appid_idp("Campus", &[("depends_on", "[ibmqr_account_settings.this]".into())])
    ));
    ws.plan_changes_exactly(&[("ibmqr_account_settings.this", &["update"])]);
    ws.apply_ok();
    assert_eq!(emu.object("login_settings", ACCOUNT_ID)["alias"], "quantum-campus");
    emu.patch_object("login_settings", ACCOUNT_ID, json!({"alias": "drifted"}));
    ws.plan_changes_exactly(&[("ibmqr_account_settings.this", &["update"])]);
    ws.apply_ok();
    let adopter = Workspace::new(&emu);
    adopter.write(&settings("quantum-campus"));
    adopter.import_ok("ibmqr_account_settings.this", ACCOUNT_ID);
    adopter.assert_no_changes();
}

/// Two groups `ml` and `chem`, each with a rule of the IdP's realm, and two users.
fn federated(ada_projects: &str) -> String {
    let group = |label: &str| resource("ibmqr_access_group", label, &[("name", quoted(&format!("project-{label}")))], &[]);
    let user = |label: &str, email: &str, projects: &str| {
        resource(
            "ibmqr_appid_user",
            label,
            &[("directory_id", "ibmqr_appid_directory.campus.id".into()), ("email", quoted(email)), ("projects", projects.to_string())],
            &[],
        )
    };
    let rule = |label: &'static str, value: &'static str| {
        rule_resource(&Rule {
            label,
            group: if label == "ml" { "ibmqr_access_group.ml.id" } else { "ibmqr_access_group.chem.id" },
            name: label,
            realm: "${ibmqr_identity_provider.campus.realm}",
            expiration_hours: 12,
            conditions: &[("project", "CONTAINS", value)],
        })
    };
    [
        appid_idp("Campus", &[]),
        group("ml"),
        group("chem"),
        rule("ml", "ml"),
        rule("chem", "chem"),
        user("ada", "ada@uni.example", ada_projects),
        user("bob", "bob@uni.example", "[\"chem\"]"),
    ]
    .join("\n")
}

#[test]
fn login_puts_users_in_the_groups_their_projects_match() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&federated("[\"ml\"]"));
    ws.apply_ok();
    ws.assert_no_changes();
    let realm = state_values(&ws, IDP)["realm"].as_str().expect("realm").to_string();
    let ml = state_values(&ws, "ibmqr_access_group.ml")["id"].as_str().expect("ml").to_string();
    let chem = state_values(&ws, "ibmqr_access_group.chem")["id"].as_str().expect("chem").to_string();

    let (status, ada) = emu.login(&realm, "ada@uni.example", None);
    assert_eq!(status, 200, "{ada}");
    assert_eq!(ada["claims"]["project"], "ml", "the project attribute is a claim of the ID token");
    assert_eq!(ada["groups"], json!([ml.clone()]), "ada is in ml, not in chem");
    let (_, bob) = emu.login(&realm, "bob@uni.example", None);
    assert_eq!(bob["groups"], json!([chem.clone()]));

    // A change of projects is an in-place update; the next login moves her.
    ws.write(&federated("[\"chem\"]"));
    ws.plan_changes_exactly(&[("ibmqr_appid_user.ada", &["update"])]);
    ws.apply_ok();
    let (_, again) = emu.login(&realm, "ada@uni.example", None);
    assert_eq!(again["iam_id"], ada["iam_id"], "the same account user");
    assert_eq!(again["groups"], json!([chem.clone()]), "in chem, out of ml");

    // Having logged in once, she is a user of the account: static memberships by iam_id.
    let lookup = format!(
        "data \"ibmqr_user\" \"ada\" {{\n  email = \"ADA@uni.example\"\n  realm = ibmqr_identity_provider.campus.realm\n}}\n{}\noutput \"ada\" {{ value = data.ibmqr_user.ada.iam_id }}\n",
        resource("ibmqr_access_group_member", "ada_ml", &[("access_group_id", "ibmqr_access_group.ml.id".into()), ("iam_id", "data.ibmqr_user.ada.iam_id".into())], &[])
    );
    ws.write(&format!("{}\n{lookup}", federated("[\"chem\"]")));
    ws.apply_ok();
    assert_eq!(ws.output_json()["ada"]["value"], ada["iam_id"]);
    let (_, third) = emu.login(&realm, "ada@uni.example", None);
    let mut both = vec![ml.clone(), chem.clone()];
    both.sort();
    assert_eq!(third["groups"], json!(both), "static in ml, dynamic in chem");
    ws.assert_no_changes();

    // Someone who never logged in is a clear error.
    let stranger = Workspace::new(&emu);
    stranger.write("data \"ibmqr_user\" \"x\" {\n  email = \"nobody@uni.example\"\n}\n");
    let out = stranger.plan();
    assert_eq!(out.code, 1);
    assert!(crate::harness::flat(&out.all()).contains("must log in once"), "{}", out.all());
}

#[test]
fn saml_login_matches_the_campus_claims() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    let group = resource("ibmqr_access_group", "ml", &[("name", quoted("project-ml"))], &[]);
    let rule = rule_resource(&Rule {
        label: "ml",
        group: "ibmqr_access_group.ml.id",
        name: "ml",
        realm: "${ibmqr_identity_provider.campus.realm}",
        expiration_hours: 1,
        conditions: &[("project", "CONTAINS", "ml")],
    });
    let saml = [
        ("entity_id", quoted("https://idp.uni.example/saml")),
        ("sso_url", quoted("https://idp.uni.example/sso")),
        ("signing_certificates", format!("[\"{CERT}\"]")),
    ];
    ws.write(&format!("{}\n{group}\n{rule}", saml_idp(&saml, &[])));
    ws.apply_ok();
    let realm = state_values(&ws, IDP)["realm"].as_str().expect("realm").to_string();
    let (status, in_ml) = emu.login(&realm, "eve@uni.example", Some(json!({"project": "ml"})));
    assert_eq!(status, 200, "{in_ml}");
    assert_eq!(in_ml["groups"].as_array().map(Vec::len), Some(1));
    let (_, out_of_ml) = emu.login(&realm, "eve@uni.example", Some(json!({"project": "physics"})));
    assert_eq!(out_of_ml["groups"], json!([]), "memberships that no longer match are removed");
    let (status, _) = emu.login("appid://unknown", "eve@uni.example", None);
    assert_eq!(status, 404);
}

/// The federated part of the quickstart alone (directory, two users, IdP, a group with its rule):
/// prints the requests one apply and one refresh send, per route.
#[test]
fn requests_of_one_apply_of_the_federated_part() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    let user = |label: &str, email: &str, project: &str| {
        resource(
            "ibmqr_appid_user",
            label,
            &[
                ("directory_id", "ibmqr_appid_directory.campus.id".into()),
                ("email", quoted(email)),
                ("projects", format!("[\"{project}\"]")),
            ],
            &[],
        )
    };
    let group = resource("ibmqr_access_group", "ml", &[("name", quoted("project-ml"))], &[]);
    let rule = rule_resource(&Rule {
        label: "ml",
        group: "ibmqr_access_group.ml.id",
        name: "proj-ml-members",
        realm: "${ibmqr_identity_provider.campus.realm}",
        expiration_hours: 12,
        conditions: &[("project", "CONTAINS", "proj-ml")],
    });
    ws.write(&format!(
        "{}\n{}\n{}\n{group}\n{rule}",
        appid_idp("Campus", &[]),
        user("ada", "ada@example.edu", "proj-ml"),
        user("kofi", "kofi@example.edu", "proj-chem")
    ));
    emu.reset_request_counts();
    ws.apply_ok();
    let applied = emu.request_counts();
    eprintln!("requests of one apply of the federated part: {} {}", applied["total"], applied["counts"]);
    assert_eq!(applied["counts"]["POST /v1/idps/"], 1, "one IdP created once");
    assert_eq!(applied["counts"]["POST /management/v4/{tenant}/cloud_directory/sign_up"], 2, "each user signed up once");
    emu.reset_request_counts();
    ws.assert_no_changes();
    let refreshed = emu.request_counts();
    eprintln!("requests of one refresh (plan) of the federated part: {} {}", refreshed["total"], refreshed["counts"]);
    assert_eq!(emu.request_count("POST /management/v4/{tenant}/cloud_directory/sign_up"), 0, "a refresh signs nobody up");
}
