//! Resource identity (Terraform 1.12+) and import blocks (1.5+) for every resource type, over the
//! quickstart's objects plus an exclusive member list: identity is returned, stable across a
//! refresh, and `import { identity = … }` and `import { id = … }` both bring every object back
//! into state with an empty plan after.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::harness::{flat, ml_group, ml_invite, role_resource, terraform_has, Emulator, Workspace, MEMBER_ACTIONS};

/// The quickstart, less `purge_on_destroy` (configuration only: import cannot know it, so it
/// would plan a change), plus a group whose member list is managed as a whole: every type once.
pub fn every_type_config() -> String {
    let quickstart =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart/main.tf")).expect("quickstart");
    let kept: Vec<&str> = quickstart.lines().filter(|line| !line.contains("purge_on_destroy")).collect();
    kept.join("\n")
        + r#"

resource "ibmqr_access_group" "listed" {
  name = "listed-members"
}

resource "ibmqr_access_group_members" "listed" {
  access_group_id = ibmqr_access_group.listed.id
  iam_ids         = ["IBMid-270000AAAA"]
  service_ids     = ["iam-ServiceId-0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f"]
}
"#
}

/// Every type the provider serves, each of which [`every_type_config`] holds.
pub const EVERY_TYPE: [&str; 13] = [
    "ibmqr_account_settings",
    "ibmqr_resource_group",
    "ibmqr_instance",
    "ibmqr_custom_role",
    "ibmqr_access_group",
    "ibmqr_access_group_policy",
    "ibmqr_access_group_members",
    "ibmqr_access_group_member",
    "ibmqr_access_group_dynamic_rule",
    "ibmqr_user_invite",
    "ibmqr_appid_directory",
    "ibmqr_appid_user",
    "ibmqr_identity_provider",
];

/// One managed resource instance of the state file.
pub struct Stored {
    pub address: String,
    pub kind: String,
    pub attributes: serde_json::Value,
    /// What Terraform stored as its identity (null when none).
    pub identity: serde_json::Value,
}

impl Stored {
    fn text(&self, name: &str) -> String {
        self.attributes[name]
            .as_str()
            .unwrap_or_else(|| panic!("{}: {name} is not a string: {}", self.address, self.attributes))
            .to_string()
    }

    /// The identity this object must have, from its attributes: the table of the docs.
    pub fn expected_identity(&self) -> serde_json::Value {
        use serde_json::json;
        let id = self.text("id");
        match self.kind.as_str() {
            "ibmqr_instance" => json!({"crn": self.text("crn")}),
            "ibmqr_appid_directory" => json!({"crn": id}),
            "ibmqr_account_settings" => json!({"account_id": id}),
            "ibmqr_access_group_members" => json!({"access_group_id": self.text("access_group_id")}),
            "ibmqr_access_group_member" => json!({"access_group_id": self.text("access_group_id"), "iam_id": self.text("iam_id")}),
            "ibmqr_access_group_dynamic_rule" => {
                json!({"access_group_id": self.text("access_group_id"), "rule_id": id.split('/').nth(1).expect("GROUP_ID/RULE_ID")})
            }
            "ibmqr_user_invite" => json!({"email": self.text("email").to_lowercase()}),
            "ibmqr_appid_user" => json!({"tenant_id": self.text("tenant_id"), "user_id": self.text("user_id")}),
            _ => json!({"id": id}),
        }
    }

    /// The import ID each type's import.sh documents.
    pub fn import_id(&self) -> String {
        match self.kind.as_str() {
            "ibmqr_user_invite" => self.text("email"),
            _ => self.text("id"),
        }
    }
}

/// The managed resource instances of the workspace's state file, by address.
pub fn stored(ws: &Workspace) -> BTreeMap<String, Stored> {
    let text = std::fs::read_to_string(ws.path().join("terraform.tfstate")).expect("terraform.tfstate");
    let state: serde_json::Value = serde_json::from_str(&text).expect("state JSON");
    let mut out = BTreeMap::new();
    for resource in state["resources"].as_array().expect("resources").iter().filter(|r| r["mode"] == "managed") {
        let kind = resource["type"].as_str().expect("type");
        for instance in resource["instances"].as_array().expect("instances") {
            let key = match &instance["index_key"] {
                serde_json::Value::String(k) => format!("[\"{k}\"]"),
                serde_json::Value::Number(n) => format!("[{n}]"),
                _ => String::new(),
            };
            let address = format!("{kind}.{}{key}", resource["name"].as_str().expect("name"));
            let entry = Stored {
                address: address.clone(),
                kind: kind.to_string(),
                attributes: instance["attributes"].clone(),
                identity: instance.get("identity").cloned().unwrap_or_default(),
            };
            out.insert(address, entry);
        }
    }
    out
}

/// An HCL object of strings: `{ a = "x", b = "y" }`.
pub fn hcl_object(fields: &serde_json::Value) -> String {
    let fields = fields.as_object().expect("an object");
    let inner: Vec<String> = fields.iter().map(|(k, v)| format!("{k} = \"{}\"", v.as_str().expect("a string"))).collect();
    format!("{{ {} }}", inner.join(", "))
}

/// `import` blocks bringing `objects` to their addresses, by identity or by import ID.
fn import_blocks(objects: &BTreeMap<String, Stored>, by_identity: bool) -> String {
    objects
        .values()
        .map(|o| {
            let what = if by_identity {
                format!("identity = {}", hcl_object(&o.expected_identity()))
            } else {
                format!("id = \"{}\"", o.import_id())
            };
            format!("import {{\n  to = {}\n  {what}\n}}\n", o.address)
        })
        .collect()
}

/// Forgets every object, then applies the configuration with `imports`: Terraform must import
/// each one and create, change and destroy nothing; the next plan is empty.
fn forget_and_import_with_blocks(ws: &Workspace, objects: &BTreeMap<String, Stored>, imports: &str) {
    let addresses: Vec<&str> = objects.keys().map(String::as_str).collect();
    ws.state_rm_ok(&addresses);
    ws.write_raw(&format!("{}\n{imports}", every_type_config()));
    let out = ws.apply_ok();
    let expected = format!("Resources: {} imported, 0 added, 0 changed, 0 destroyed.", objects.len());
    assert!(flat(&out.stdout).contains(&expected), "expected only imports ({expected}):\n{}", out.all());
    ws.assert_no_changes();
}

fn assert_identities(objects: &BTreeMap<String, Stored>, when: &str) {
    for o in objects.values() {
        assert_eq!(o.identity, o.expected_identity(), "{}: identity {when}", o.address);
    }
}

#[test]
fn every_type_has_a_stable_identity_and_imports_by_identity_and_by_id() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write_raw(&every_type_config());
    ws.apply_ok();
    let created = stored(&ws);
    let kinds: std::collections::BTreeSet<&str> = created.values().map(|o| o.kind.as_str()).collect();
    assert_eq!(kinds, EVERY_TYPE.into_iter().collect(), "the configuration holds every type once at least");

    if !terraform_has((1, 12), "resource identity", "that state holds no identity and import blocks by ID") {
        assert!(created.values().all(|o| o.identity.is_null()), "an older Terraform stores no identity");
        ws.assert_no_changes();
        if terraform_has((1, 5), "import blocks", "that the plan is empty") {
            forget_and_import_with_blocks(&ws, &created, &import_blocks(&created, false));
        }
        return;
    }
    assert_identities(&created, "after create");

    // A refresh reads every object again: the identity stays as it was.
    let refreshed = ws.terraform(&["apply", "-refresh-only", "-auto-approve", "-input=false", "-no-color"]);
    assert_eq!(refreshed.code, 0, "refresh failed:\n{}", refreshed.all());
    let after_refresh = stored(&ws);
    assert_identities(&after_refresh, "after a refresh");

    forget_and_import_with_blocks(&ws, &created, &import_blocks(&created, true));
    // What each import reads is checked attribute by attribute in import_verify.rs; here, that
    // every identity imports its object as itself.
    assert_identities(&stored(&ws), "after import by identity");

    forget_and_import_with_blocks(&ws, &created, &import_blocks(&created, false));
    assert_identities(&stored(&ws), "after import by ID");
}

/// An identity that lacks an attribute is refused on that attribute, saying what it holds.
#[test]
fn an_incomplete_identity_names_the_missing_attribute() {
    if !terraform_has((1, 12), "import blocks with identity", "nothing here (skipped: an older Terraform cannot send an identity)") {
        return;
    }
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(
        r#"
resource "ibmqr_access_group" "ml" {
  name = "project-ml"
}
resource "ibmqr_access_group_member" "bot" {
  access_group_id = ibmqr_access_group.ml.id
  iam_id          = "iam-ServiceId-9f8e7d6c-5b4a-3c2d-1e0f-a9b8c7d6e5f4"
}
import {
  to       = ibmqr_access_group_member.bot
  identity = { access_group_id = "AccessGroupId-6f1c2a1e-3d4b-4c5a-9e8f-0a1b2c3d4e5f", iam_id = "" }
}
"#,
    );
    let out = ws.plan();
    assert_eq!(out.code, 1, "the plan must fail:\n{}", out.all());
    let said = flat(&out.all());
    assert!(said.contains("Invalid identity: iam_id"), "{said}");
    assert!(said.contains("Its attributes: access_group_id, iam_id."), "{said}");
}

/// An in-place change keeps the identity, a replacement takes the new object's: a role's display
/// name changes in place and its name replaces it; an invite's email changes letter case in place,
/// and its identity, lowercased, stays.
#[test]
fn identity_stays_through_in_place_changes_and_follows_a_replacement() {
    let has_identity = terraform_has((1, 12), "resource identity", "the same changes, planned and applied, with no identity in state");
    let check = |objects: &BTreeMap<String, Stored>, when: &str| {
        if has_identity {
            assert_identities(objects, when);
        } else {
            assert!(objects.values().all(|o| o.identity.is_null()), "an older Terraform stores no identity");
        }
    };
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    let config =
        |role: &str, display: &str, email: &str| role_resource(role, display, &MEMBER_ACTIONS) + &ml_group() + &ml_invite("fatima", email);
    ws.write(&config("QiskitRuntimeUser", "Qiskit Runtime user", "Fatima@Example.edu"));
    ws.apply_ok();
    let before = stored(&ws);
    check(&before, "after create");

    ws.write(&config("QiskitRuntimeUser", "Qiskit user", "fatima@example.edu"));
    ws.plan_changes_exactly(&[("ibmqr_custom_role.member", &["update"]), ("ibmqr_user_invite.fatima", &["update"])]);
    ws.apply_ok();
    let updated = stored(&ws);
    for (address, object) in &updated {
        assert_eq!(object.identity, before[address].identity, "{address}: an in-place change keeps the identity");
    }

    ws.write(&config("QiskitRuntimeMember", "Qiskit user", "fatima@example.edu"));
    ws.plan_changes_exactly(&[("ibmqr_custom_role.member", &["delete", "create"])]);
    ws.apply_ok();
    let replaced = stored(&ws);
    check(&replaced, "after the replacement");
    let role = "ibmqr_custom_role.member";
    if has_identity {
        assert_eq!(before["ibmqr_user_invite.fatima"].identity, serde_json::json!({"email": "fatima@example.edu"}));
        assert_ne!(replaced[role].identity, before[role].identity, "the new role has its own identity");
    }
    ws.assert_no_changes();
}
