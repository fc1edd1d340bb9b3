//! Adopting an account set up by hand (Terraform 1.14+): an organization made through IBM's API
//! routes, as an admin clicking through the console would, is found by `terraform query` with
//! examples/adopt, turned into import blocks and configuration, and imported by one apply that
//! creates, changes and destroys nothing. What the account depends on is never listed.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use crate::harness::{flat, terraform_has, Emulator, Workspace, ACCOUNT_ID, API_KEY, BOT_SERVICE_ID};

const QUANTUM_SERVICE_ID: &str = "b6049020-80f4-11eb-a0f7-e35ec9b4054f";
const VIEWER: &str = "crn:v1:bluemix:public:iam::::role:Viewer";
const READER: &str = "crn:v1:bluemix:public:iam::::serviceRole:Reader";

/// IBM's API as the console uses it: a signed-in admin's bearer token, and requests that must
/// succeed.
struct Console {
    http: reqwest::blocking::Client,
    base: String,
    token: String,
}

impl Console {
    fn sign_in(emu: &Emulator) -> Console {
        let http = reqwest::blocking::Client::new();
        let answer: Value = http
            .post(format!("{}/identity/token", emu.url))
            .form(&[("grant_type", "urn:ibm:params:oauth:grant-type:apikey"), ("apikey", API_KEY)])
            .send()
            .and_then(|r| r.json())
            .expect("token");
        let token = answer["access_token"].as_str().expect("access_token").to_string();
        Console { http, base: emu.url.clone(), token }
    }

    fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().expect("request");
        let status = response.status();
        let text = response.text().unwrap_or_default();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    fn get(&self, path: &str) -> Value {
        self.send(reqwest::Method::GET, path, None)
    }

    fn post(&self, path: &str, body: Value) -> Value {
        self.send(reqwest::Method::POST, path, Some(body))
    }

    fn put(&self, path: &str, body: Value) -> Value {
        self.send(reqwest::Method::PUT, path, Some(body))
    }
}

/// What the admin made by hand.
struct Organization {
    default_group_id: String,
    objects: usize,
}

/// Two project groups with policies on a Premium instance in a new resource group, two custom
/// roles, three invited people in the groups, a service ID in one group and a dynamic rule.
fn build_organization_by_hand(emu: &Emulator) -> Organization {
    let console = Console::sign_in(emu);
    let default_group_id = console.get(&format!("/v2/resource_groups?account_id={ACCOUNT_ID}&default=true"))["resources"][0]["id"]
        .as_str()
        .expect("default group")
        .to_string();
    let quantum = console.post("/v2/resource_groups", json!({"name": "quantum", "account_id": ACCOUNT_ID}));
    let quantum_id = quantum["id"].as_str().expect("group id");

    let plans = emu.catalog_plans(QUANTUM_SERVICE_ID);
    let premium = plans.iter().find(|p| p["name"] == "premium").unwrap_or_else(|| panic!("a premium plan: {plans:?}"));
    let instance = console.post(
        "/v2/resource_instances",
        json!({"name": "qr-chem", "target": "us-east", "resource_group": quantum_id, "resource_plan_id": premium["id"]}),
    );
    let instance_guid = instance["guid"].as_str().expect("guid");

    let mut custom_roles = Vec::new();
    for (name, display, actions) in [
        ("QiskitMember", "Qiskit member", json!(["quantum-computing.job.read", "quantum-computing.job.create"])),
        ("QiskitAdmin", "Qiskit admin", json!(["quantum-computing.job.read", "quantum-computing.job.cancel"])),
    ] {
        let role = console.post(
            "/v2/roles",
            json!({"name": name, "display_name": display, "account_id": ACCOUNT_ID, "service_name": "quantum-computing", "actions": actions}),
        );
        custom_roles.push(role["crn"].as_str().expect("role crn").to_string());
    }

    let mut groups = Vec::new();
    for (name, description) in [("qiskit-ml", "Machine learning project"), ("qiskit-chem", "Chemistry project")] {
        let group = console.post(&format!("/v2/groups?account_id={ACCOUNT_ID}"), json!({"name": name, "description": description}));
        groups.push(group["id"].as_str().expect("group id").to_string());
    }
    let attribute = |name: &str, value: &str| json!({"name": name, "value": value});
    for (group, custom) in groups.iter().zip(&custom_roles) {
        console.post(
            "/v1/policies",
            json!({
                "type": "access",
                "subjects": [{"attributes": [attribute("access_group_id", group)]}],
                "roles": [{"role_id": VIEWER}, {"role_id": custom}],
                "resources": [{"attributes": [
                    attribute("accountId", ACCOUNT_ID), attribute("serviceName", "quantum-computing"), attribute("serviceInstance", instance_guid),
                ]}],
            }),
        );
    }
    // Every instance in the resource group, for the chemistry group.
    console.post(
        "/v1/policies",
        json!({
            "type": "access",
            "subjects": [{"attributes": [attribute("access_group_id", &groups[1])]}],
            "roles": [{"role_id": READER}],
            "resources": [{"attributes": [
                attribute("accountId", ACCOUNT_ID), attribute("serviceName", "quantum-computing"), attribute("resourceGroupId", quantum_id),
            ]}],
        }),
    );

    for (email, in_groups) in [
        ("ada@uni.example", vec![&groups[0]]),
        ("grace@uni.example", vec![&groups[0], &groups[1]]),
        ("marie@uni.example", vec![&groups[1]]),
    ] {
        console.post(
            &format!("/v2/accounts/{ACCOUNT_ID}/users"),
            json!({"users": [{"email": email, "account_role": "Member"}], "access_groups": in_groups}),
        );
    }
    console.put(&format!("/v2/groups/{}/members", groups[1]), json!({"members": [{"iam_id": BOT_SERVICE_ID, "type": "service"}]}));
    console.post(
        &format!("/v2/groups/{}/rules", groups[0]),
        json!({
            "name": "ml-students", "expiration": 12, "realm_name": "https://idp.uni.example/saml",
            "conditions": [{"claim": "project", "operator": "EQUALS", "value": "\"ml\""}],
        }),
    );
    // A resource group, an instance, 2 roles, 2 groups, 3 policies, 3 people, a service ID's
    // membership and a rule.
    Organization { default_group_id, objects: 1 + 1 + 2 + 2 + 3 + 3 + 1 + 1 }
}

/// A workspace holding examples/adopt: its root module and its query file.
fn adoption_workspace(emu: &Emulator) -> Workspace {
    let ws = Workspace::new(emu);
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/adopt");
    ws.copy_config_from(&example);
    std::fs::copy(example.join("adopt.tfquery.hcl"), ws.path().join("adopt.tfquery.hcl")).expect("query file");
    ws
}

/// Requests per route, without the token exchange.
fn requests(emu: &Emulator) -> BTreeMap<String, u64> {
    let counts: BTreeMap<String, u64> = serde_json::from_value(emu.request_counts()["counts"].clone()).expect("request counts");
    counts.into_iter().filter(|(route, _)| route != "POST /identity/token").collect()
}

#[test]
fn query_generates_configuration_that_imports_an_organization_made_by_hand() {
    if !terraform_has((1, 14), "list resources (terraform query)", "nothing here (skipped: `terraform query` needs Terraform 1.14)") {
        return;
    }
    let emu = Emulator::start();
    let organization = build_organization_by_hand(&emu);
    let ws = adoption_workspace(&emu);
    ws.init_ok();

    emu.reset_request_counts();
    let out = ws.terraform(&["query", "-generate-config-out=generated.tf", "-no-color"]);
    assert_eq!(out.code, 0, "terraform query failed:\n{}", out.all());
    let counts = requests(&emu);
    println!("requests of `terraform query` over the adopted organization ({} objects):", organization.objects);
    for (route, count) in &counts {
        println!("  {count:>3}  {route}");
    }
    println!("  {:>3}  in all", counts.values().sum::<u64>());

    let generated = std::fs::read_to_string(ws.path().join("generated.tf")).expect("generated.tf");
    for never in ["Public Access", "AccessGroupId-PublicAccess", organization.default_group_id.as_str(), "owner@", "customRole:Viewer"] {
        assert!(!generated.contains(never), "{never:?} must never be listed:\n{generated}");
    }
    let imports = generated.matches("import {").count();
    assert_eq!(imports, organization.objects, "one import block per object made by hand:\n{generated}");
    // One representation per membership: the people's are in their invites, the service ID's alone.
    assert_eq!(generated.matches("resource \"ibmqr_access_group_member\"").count(), 1, "{generated}");
    assert!(flat(&generated).contains(BOT_SERVICE_ID), "{generated}");

    // `apply` reads the .tf files only: the query file may stay.
    let applied = ws.apply_ok();
    let expected = format!("Resources: {} imported, 0 added, 0 changed, 0 destroyed.", organization.objects);
    assert!(flat(&applied.stdout).contains(&expected), "expected only imports ({expected}):\n{}\n{generated}", applied.all());
    ws.assert_no_changes();
}

/// The lines `terraform query` prints for one list: `list.TYPE.NAME   IDENTITY   DISPLAY NAME`.
fn listed<'a>(out: &'a str, list: &str) -> Vec<&'a str> {
    let head = format!("{list} ");
    out.lines().filter(|l| l.starts_with(&head)).collect()
}

#[test]
fn lists_filter_limit_and_never_show_what_the_account_depends_on() {
    if !terraform_has((1, 14), "list resources (terraform query)", "nothing here (skipped: `terraform query` needs Terraform 1.14)") {
        return;
    }
    let emu = Emulator::start();
    build_organization_by_hand(&emu);
    let ws = Workspace::new(&emu);
    ws.write("");
    let query = r#"
list "ibmqr_access_group" "ml" {
  provider = ibmqr
  config {
    name_prefix = "qiskit-m"
  }
}

list "ibmqr_access_group" "every" {
  provider = ibmqr
}

list "ibmqr_access_group_policy" "public" {
  provider = ibmqr
  config {
    access_group_id = "AccessGroupId-PublicAccess"
  }
}

list "ibmqr_access_group_policy" "first" {
  provider = ibmqr
  limit    = 1
}

list "ibmqr_resource_group" "every" {
  provider = ibmqr
}

list "ibmqr_custom_role" "platform" {
  provider = ibmqr
  config {
    service = "quantum-computing"
  }
}

list "ibmqr_user_invite" "people" {
  provider = ibmqr
}
"#;
    std::fs::write(ws.path().join("checks.tfquery.hcl"), query).expect("query file");
    let out = ws.terraform(&["query", "-no-color"]);
    assert_eq!(out.code, 0, "terraform query failed:\n{}", out.all());
    let text = out.stdout.as_str();

    let ml = listed(text, "list.ibmqr_access_group.ml");
    assert_eq!(ml.len(), 1, "name_prefix keeps qiskit-ml only:\n{text}");
    assert!(ml[0].ends_with("qiskit-ml"), "{}", ml[0]);
    let every = listed(text, "list.ibmqr_access_group.every");
    assert_eq!(every.len(), 2, "both project groups, not Public Access:\n{text}");
    assert!(listed(text, "list.ibmqr_access_group_policy.public").is_empty(), "nothing of the Public Access group:\n{text}");
    assert_eq!(listed(text, "list.ibmqr_access_group_policy.first").len(), 1, "limit = 1:\n{text}");
    let groups = listed(text, "list.ibmqr_resource_group.every");
    assert_eq!(groups.len(), 1, "the hand-made group, not Default:\n{text}");
    assert!(groups[0].ends_with("quantum"), "{}", groups[0]);
    let roles = listed(text, "list.ibmqr_custom_role.platform");
    assert_eq!(roles.len(), 2, "custom roles only, never Viewer or Reader:\n{text}");
    let people = listed(text, "list.ibmqr_user_invite.people");
    assert_eq!(people.len(), 3, "the invited people, not the owner:\n{text}");
    assert!(!text.contains("owner@"), "{text}");
}

/// The types `terraform query` lists; the others are imported by ID.
const LISTABLE: [&str; 11] = [
    "ibmqr_resource_group",
    "ibmqr_instance",
    "ibmqr_custom_role",
    "ibmqr_access_group",
    "ibmqr_access_group_policy",
    "ibmqr_access_group_member",
    "ibmqr_access_group_dynamic_rule",
    "ibmqr_user_invite",
    "ibmqr_appid_directory",
    "ibmqr_appid_user",
    "ibmqr_identity_provider",
];

#[test]
fn every_listable_type_finds_what_a_configuration_made_and_adopts_it() {
    if !terraform_has((1, 14), "list resources (terraform query)", "nothing here (skipped: `terraform query` needs Terraform 1.14)") {
        return;
    }
    let emu = Emulator::start();
    let maker = Workspace::new(&emu);
    maker.write_raw(&crate::identity::every_type_config());
    maker.apply_ok();
    let made = crate::identity::stored(&maker);

    let ws = adoption_workspace(&emu);
    let out = ws.terraform(&["query", "-generate-config-out=generated.tf", "-no-color"]);
    assert_eq!(out.code, 0, "terraform query failed:\n{}", out.all());
    let generated = std::fs::read_to_string(ws.path().join("generated.tf")).expect("generated.tf");
    let kinds: std::collections::BTreeSet<&str> = made.values().map(|o| o.kind.as_str()).collect();
    for kind in LISTABLE {
        assert!(kinds.contains(kind), "the configuration makes no {kind}");
    }
    for object in made.values().filter(|o| LISTABLE.contains(&o.kind.as_str())) {
        // The identity of every object of a listable type is in an import block.
        let identity = object.expected_identity();
        let fields = identity.as_object().expect("identity object");
        let found = generated
            .split("import {")
            .any(|block| fields.values().all(|v| block.contains(&format!("\"{}\"", v.as_str().unwrap_or_default()))));
        assert!(found, "{} ({identity}) was not listed:\n{generated}", object.address);
    }
    let imports = generated.matches("import {").count();
    let applied = ws.apply_ok();
    let expected = format!("Resources: {imports} imported, 0 added, 0 changed, 0 destroyed.");
    assert!(flat(&applied.stdout).contains(&expected), "expected only imports ({expected}):\n{}\n{generated}", applied.all());
    ws.assert_no_changes();
}
