use crate::harness::{aliased_provider, hcl_strings, planned_actions, planned_before_and_after, state_attributes, Emulator, Workspace};

const QR: &str = "ibmqr_instance.qr";

const OPEN_PLAN_ID: &str = "850b21a7-71de-4e53-9441-1abdd202f35d";
const PAYG_PLAN_ID: &str = "5304b575-3cff-4455-90dc-ae4367762093";
const QUANTUM_SERVICE_ID: &str = "b6049020-80f4-11eb-a0f7-e35ec9b4054f";
/// Counter key of the Global Catalog child list (`GET /api/v1/{service_id}/plan`).
const CATALOG_PLANS_ROUTE: &str = "GET /api/v1/{id}/{kind}";

/// Two instances on the legacy plans, whose IDs only the Global Catalog knows; `lite` on `lite_plan`.
fn legacy_config(lite_plan: &str) -> String {
    format!(
        r#"
resource "ibmqr_instance" "lite" {{
  name             = "qr-lite"
  plan             = "{lite_plan}"
  region           = "us-east"
  purge_on_destroy = true
}}
resource "ibmqr_instance" "std" {{
  name             = "qr-std"
  plan             = "paygo-standard"
  region           = "eu-de"
  purge_on_destroy = true
}}
output "lite_crn" {{ value = ibmqr_instance.lite.crn }}
output "std_crn"  {{ value = ibmqr_instance.std.crn }}
output "lite_plan_id" {{ value = ibmqr_instance.lite.plan_id }}
"#
    )
}

/// The plan ID the emulator's Global Catalog lists under `name`.
fn catalog_plan_id(emu: &Emulator, name: &str) -> String {
    let plans = emu.catalog_plans(QUANTUM_SERVICE_ID);
    let plan = plans.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("catalog lists no plan {name}: {plans:?}"));
    plan["id"].as_str().expect("plan id").to_string()
}

/// How often the provider listed the quantum plans since the counters were last reset.
fn catalog_fetches(emu: &Emulator) -> u64 {
    emu.request_count(CATALOG_PLANS_ROUTE)
}

/// The instance `qr` as [`instance_config`] writes it.
struct Instance<'a> {
    name: &'a str,
    plan: &'a str,
    region: &'a str,
    tags: &'a [&'a str],
    /// Extra attributes, as HCL lines.
    extra: &'a str,
    /// In the account's default resource group instead of the group `lab`.
    in_default_group: bool,
}

fn main_instance() -> Instance<'static> {
    Instance { name: "qr-main", plan: "open", region: "us-east", tags: &["Env:Dev", "team-a"], extra: "", in_default_group: false }
}

/// The resource group `lab` and the instance `qr`, with its CRN, GUID and limit as outputs.
fn instance_config(instance: &Instance<'_>) -> String {
    let (default_group, group_id) = if instance.in_default_group {
        ("data \"ibmqr_resource_group\" \"d\" {\n  is_default = true\n}\n", "data.ibmqr_resource_group.d.id")
    } else {
        ("", "ibmqr_resource_group.lab.id")
    };
    let Instance { name, plan, region, tags, extra, .. } = instance;
    format!(
        r#"
resource "ibmqr_resource_group" "lab" {{
  name = "lab"
}}
{default_group}resource "ibmqr_instance" "qr" {{
  name              = "{name}"
  plan              = "{plan}"
  region            = "{region}"
  resource_group_id = {group_id}
  tags              = {}
  purge_on_destroy  = true
{extra}
  timeouts {{
    create = "1m"
  }}
}}
output "crn"   {{ value = ibmqr_instance.qr.crn }}
output "guid"  {{ value = ibmqr_instance.qr.guid }}
output "limit" {{ value = ibmqr_instance.qr.instance_limit_seconds }}
"#,
        hcl_strings(tags)
    )
}

fn instances(emu: &Emulator) -> Vec<serde_json::Value> {
    emu.stored("instances")
}

fn live(emu: &Emulator) -> Vec<serde_json::Value> {
    instances(emu).into_iter().filter(|i| i["state"] != "removed").collect()
}

fn tags_of(emu: &Emulator, crn: &str) -> Vec<String> {
    emu.stored("tags")
        .into_iter()
        .find(|t| t["crn"] == crn)
        .and_then(|t| t["tags"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn create_update_replace_and_destroy() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&instance_config(&main_instance()));
    emu.reset_request_counts();
    ws.apply_ok();
    println!("requests for one apply of a group and an instance: {}", emu.request_counts());
    assert_eq!(catalog_fetches(&emu), 0, "a built-in plan needs no catalog request");
    let inst = live(&emu).pop().expect("instance created");
    assert_eq!(inst["resource_plan_id"], OPEN_PLAN_ID);
    assert_eq!(inst["extensions"]["instance_limit_seconds"], 600, "Open plan default limit");
    let out = ws.output_json();
    let crn = out["crn"]["value"].as_str().expect("crn").to_string();
    assert_eq!(inst["crn"], crn);
    assert_eq!(out["limit"]["value"], 600, "what IBM applies is read back");
    assert_eq!(tags_of(&emu, &crn), vec!["env:dev", "team-a"], "IBM lowercases tags");
    // Mixed-case tags in config: no diff, also after a refresh.
    ws.assert_no_changes();
    let refresh = ws.terraform(&["apply", "-refresh-only", "-auto-approve", "-no-color"]);
    assert_eq!(refresh.code, 0, "{}", refresh.all());
    ws.assert_no_changes();

    // In place: rename, limit, backends, tags.
    let renamed = Instance {
        name: "qr-renamed",
        tags: &["Env:Prod"],
        extra: "  instance_limit_seconds = 900\n  backends = [\"ibm_torino\"]",
        ..main_instance()
    };
    ws.write(&instance_config(&renamed));
    ws.plan_changes_exactly(&[(QR, &["update"])]);
    ws.apply_ok();
    let inst = live(&emu).pop().expect("instance");
    assert_eq!(inst["crn"], crn, "same instance");
    assert_eq!(inst["name"], "qr-renamed");
    assert_eq!(inst["extensions"]["instance_limit_seconds"], 900);
    assert_eq!(inst["extensions"]["backends"], serde_json::json!(["ibm_torino"]));
    assert!(inst["parameters"]["timestamp"].is_string(), "PATCH carries the de-duplication timestamp");
    assert_eq!(tags_of(&emu, &crn), vec!["env:prod"]);
    ws.assert_no_changes();

    // Plan upgrade in place.
    let payg = Instance { plan: "pay-as-you-go", ..renamed };
    ws.write(&instance_config(&payg));
    ws.plan_changes_exactly(&[(QR, &["update"])]);
    ws.apply_ok();
    assert_eq!(live(&emu).pop().expect("instance")["resource_plan_id"], PAYG_PLAN_ID);
    ws.assert_no_changes();

    // region replaces.
    let eu = Instance { region: "eu-de", ..payg };
    ws.write(&instance_config(&eu));
    ws.plan_changes_exactly(&[(QR, &["delete", "create"])]);
    ws.apply_ok();
    let inst = live(&emu).pop().expect("instance");
    assert_eq!(inst["region_id"], "eu-de");
    assert_eq!(live(&emu).len(), 1, "the old one was purged");
    ws.assert_no_changes();

    // resource_group_id replaces: move to the default group.
    ws.write(&instance_config(&Instance { in_default_group: true, ..eu }));
    ws.plan_changes_exactly(&[(QR, &["delete", "create"])]);
    ws.apply_ok();
    ws.assert_no_changes();

    ws.destroy_ok();
    assert!(live(&emu).is_empty(), "no instance left but removed ones");
    assert!(emu.objects("reclamations").is_empty());
    assert!(emu.objects("tags").is_empty());
    assert_eq!(emu.objects("resource_groups").len(), 1, "only the Default group");
}

#[test]
fn import_by_crn_and_by_guid() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&instance_config(&Instance { tags: &["env:dev"], ..main_instance() }));
    ws.apply_ok();
    let out = ws.output_json();
    let rg = emu.stored("resource_groups").into_iter().find(|g| g["name"] == "lab").expect("lab");
    let resource = format!(
        "resource \"ibmqr_instance\" \"qr\" {{\n  name = \"qr-main\"\n  plan = \"open\"\n  region = \"us-east\"\n  resource_group_id = \"{}\"\n  tags = [\"env:dev\"]\n}}\n",
        rg["id"].as_str().expect("id")
    );
    for id in [out["crn"]["value"].as_str().expect("crn"), out["guid"]["value"].as_str().expect("guid")] {
        let adopter = Workspace::new(&emu);
        adopter.write(&resource);
        adopter.import_ok(QR, id);
        adopter.assert_no_changes();
        let state = adopter.state_json();
        let imported = state_attributes(&state, QR);
        assert_eq!(imported["crn"], out["crn"]["value"], "state holds the CRN");
        assert_eq!(imported["plan"], "open", "canonical plan name");
    }
}

#[test]
fn drift_is_detected() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&instance_config(&main_instance()));
    ws.apply_ok();
    let guid = ws.output_json()["guid"]["value"].as_str().expect("guid").to_string();

    emu.patch_object("instances", &guid, serde_json::json!({"name": "changed", "extensions": {"instance_limit_seconds": 5}}));
    let plan = ws.plan_changes_exactly(&[(QR, &["update"])]);
    let (before, after) = planned_before_and_after(&plan, QR, "name");
    assert_eq!((before, after), (&serde_json::json!("changed"), &serde_json::json!("qr-main")), "{plan}");
    ws.apply_ok();
    ws.assert_no_changes();

    // An instance in state `removed` is gone.
    emu.patch_object("instances", &guid, serde_json::json!({"state": "removed"}));
    ws.plan_changes_exactly(&[(QR, &["create"])]);
    ws.apply_ok();
    ws.assert_no_changes();

    let guid = ws.output_json()["guid"]["value"].as_str().expect("guid").to_string();
    emu.delete_object("instances", &guid);
    ws.plan_changes_exactly(&[(QR, &["create"])]);
    ws.apply_ok();
}

#[test]
fn invalid_input_fails_at_plan() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    for (config, attr, text) in [
        (instance_config(&Instance { region: "eu-de", ..main_instance() }), "region", "only offered in us-east"),
        (
            instance_config(&Instance { plan: "pay-as-you-go", extra: "  usage_allocation_seconds = 60", ..main_instance() }),
            "usage_allocation_seconds",
            "no allocation",
        ),
        (
            instance_config(&Instance { plan: "paygo-standard", extra: "  usage_allocation_seconds = 60", ..main_instance() }),
            "usage_allocation_seconds",
            "no allocation",
        ),
        (instance_config(&Instance { plan: "gold", ..main_instance() }), "plan", "not a Qiskit Runtime plan"),
    ] {
        ws.write(&config);
        let plan = ws.plan();
        assert_eq!(plan.code, 1, "{}", plan.all());
        assert!(
            plan.stderr.contains(text) && plan.stderr.contains("ibmqr_instance.qr") && plan.stderr.contains(attr),
            "{attr}: {}",
            plan.stderr
        );
    }
    // The unknown name's error lists the valid names, the catalog's legacy ones included.
    let plan = ws.plan();
    let listed = plan.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    for name in ["open,", "pay-as-you-go,", "flex,", "premium,", "lite,", "paygo-standard,"] {
        assert!(listed.contains(name), "{name} listed: {}", plan.stderr);
    }
    assert!(instances(&emu).is_empty());
}

#[test]
fn provisioning_is_waited_out() {
    let emu = Emulator::start();
    emu.set_lag(0.5);
    let ws = Workspace::new(&emu);
    ws.write(&instance_config(&main_instance()));
    ws.apply_ok();
    assert_eq!(live(&emu).pop().expect("instance")["state"], "active");
    ws.assert_no_changes();
}

#[test]
fn data_source_by_crn_and_by_name() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&instance_config(&main_instance()));
    ws.apply_ok();
    let with_data = format!(
        "{}\ndata \"ibmqr_instance\" \"by_crn\" {{\n  crn = ibmqr_instance.qr.crn\n}}\ndata \"ibmqr_instance\" \"by_name\" {{\n  name = \"qr-main\"\n  region = \"us-east\"\n  depends_on = [ibmqr_instance.qr]\n}}\noutput \"by_crn_plan\" {{ value = data.ibmqr_instance.by_crn.plan }}\noutput \"by_name_crn\" {{ value = data.ibmqr_instance.by_name.crn }}\noutput \"by_name_tags\" {{ value = data.ibmqr_instance.by_name.tags }}\n",
        instance_config(&main_instance())
    );
    ws.write(&with_data);
    ws.apply_ok();
    let out = ws.output_json();
    assert_eq!(out["by_crn_plan"]["value"], "open");
    assert_eq!(out["by_name_crn"]["value"], out["crn"]["value"]);
    assert_eq!(out["by_name_tags"]["value"], serde_json::json!(["env:dev", "team-a"]));
}

#[test]
fn legacy_plans_resolve_through_the_catalog() {
    let emu = Emulator::start();
    let lite_id = catalog_plan_id(&emu, "lite");
    let standard_id = catalog_plan_id(&emu, "paygo-standard");
    assert!(![OPEN_PLAN_ID, PAYG_PLAN_ID].contains(&lite_id.as_str()) && lite_id != standard_id);
    let ws = Workspace::new(&emu);
    ws.write(&legacy_config("lite"));

    // One plan process resolves both names with a single catalog request.
    emu.reset_request_counts();
    let plan = ws.plan_changes_exactly(&[("ibmqr_instance.lite", &["create"]), ("ibmqr_instance.std", &["create"])]);
    assert_eq!(planned_before_and_after(&plan, "ibmqr_instance.lite", "plan_id").1, lite_id.as_str(), "the plan holds the catalog's ID");
    let fetches = catalog_fetches(&emu);
    println!("catalog plan lists fetched during one plan of two legacy-plan instances: {fetches}");
    assert_eq!(fetches, 1, "{}", emu.request_counts());

    ws.apply_ok();
    let by_name = |name: &str| live(&emu).into_iter().find(|i| i["name"] == name).unwrap_or_else(|| panic!("{name} created"));
    assert_eq!(by_name("qr-lite")["resource_plan_id"], lite_id.as_str());
    assert_eq!(by_name("qr-std")["resource_plan_id"], standard_id.as_str());
    let out = ws.output_json();
    assert_eq!(out["lite_plan_id"]["value"], lite_id.as_str());
    emu.reset_request_counts();
    ws.assert_no_changes();
    println!("catalog plan lists fetched during the no-op plan: {}", catalog_fetches(&emu));
    assert!(catalog_fetches(&emu) <= 1);

    // Import by CRN: the catalog maps each ID back to the name, so there is no diff.
    for (address, block, output) in [
        (
            "ibmqr_instance.lite",
            "resource \"ibmqr_instance\" \"lite\" {\n  name = \"qr-lite\"\n  plan = \"lite\"\n  region = \"us-east\"\n}\n",
            "lite_crn",
        ),
        (
            "ibmqr_instance.std",
            "resource \"ibmqr_instance\" \"std\" {\n  name = \"qr-std\"\n  plan = \"paygo-standard\"\n  region = \"eu-de\"\n}\n",
            "std_crn",
        ),
    ] {
        let adopter = Workspace::new(&emu);
        adopter.write(block);
        let crn = out[output]["value"].as_str().expect("crn");
        adopter.import_ok(address, crn);
        adopter.assert_no_changes();
    }

    // Upgrade of a legacy plan in place: lite to paygo-standard, resolved at plan time.
    ws.write(&legacy_config("paygo-standard"));
    ws.plan_changes_exactly(&[("ibmqr_instance.lite", &["update"])]);
    ws.apply_ok();
    assert_eq!(by_name("qr-lite")["resource_plan_id"], standard_id.as_str());
    ws.assert_no_changes();

    ws.destroy_ok();
    assert!(live(&emu).is_empty());
}

/// Two instances without `region`, one under the default provider (its region defaults to
/// us-east) and one under an aliased provider in eu-de.
fn aliased_config(eu_provider_region: &str) -> String {
    format!(
        r#"
{}
resource "ibmqr_instance" "home" {{
  name = "qr-home"
  plan = "open"
}}
resource "ibmqr_instance" "eu" {{
  provider = ibmqr.eu
  name     = "qr-eu"
  plan     = "pay-as-you-go"
}}
output "regions" {{ value = [ibmqr_instance.home.region, ibmqr_instance.eu.region] }}
output "eu_crn"  {{ value = ibmqr_instance.eu.crn }}
"#,
        aliased_provider("eu", eu_provider_region)
    )
}

/// The region of the live instance named `name`, as the emulator stores it.
fn region_of(emu: &Emulator, name: &str) -> String {
    let instance = live(emu).into_iter().find(|i| i["name"] == name).unwrap_or_else(|| panic!("no live instance {name}"));
    instance["region_id"].as_str().expect("region_id").to_string()
}

/// An instance without `region` takes its provider's: two aliased providers each put their
/// instance in their own region; import keeps it; a provider moved to another region replaces
/// only its own instance; and the open plan's region rule holds for a region that came from the
/// provider.
#[test]
fn region_defaults_to_the_providers_region() {
    let emu = Emulator::start();
    let ws = Workspace::new(&emu);
    ws.write(&aliased_config("eu-de"));
    ws.apply_ok();
    assert_eq!(ws.output_json()["regions"]["value"], serde_json::json!(["us-east", "eu-de"]));
    assert_eq!(region_of(&emu, "qr-home"), "us-east");
    assert_eq!(region_of(&emu, "qr-eu"), "eu-de");
    ws.assert_no_changes();

    // Adopted by import into another configuration, the instance plans no change either.
    let eu_crn = ws.output_json()["eu_crn"]["value"].as_str().expect("crn").to_string();
    let eu_provider = aliased_provider("eu", "eu-de");
    let adopter = Workspace::new(&emu);
    adopter.write(&format!(
        "{eu_provider}\nresource \"ibmqr_instance\" \"eu\" {{\n  provider = ibmqr.eu\n  name     = \"qr-eu\"\n  plan     = \"pay-as-you-go\"\n}}\n"
    ));
    adopter.import_ok("ibmqr_instance.eu", &eu_crn);
    adopter.assert_no_changes();

    // The aliased provider moves to us-east: its instance is replaced, the other is untouched.
    ws.write(&aliased_config("us-east"));
    let actions = planned_actions(&ws.plan_json());
    assert_eq!(actions["ibmqr_instance.eu"], ["delete", "create"], "{actions:?}");
    assert_eq!(actions["ibmqr_instance.home"], ["no-op"], "{actions:?}");

    // An open instance cannot take eu-de from its provider: the plan fails on `region`.
    ws.write(&format!(
        "{}\nresource \"ibmqr_instance\" \"open_in_eu\" {{\n  provider = ibmqr.eu\n  name     = \"qr-open\"\n  plan     = \"open\"\n}}\n",
        aliased_provider("eu", "eu-de")
    ));
    let out = ws.plan();
    assert_eq!(out.code, 1, "{}", out.all());
    let said = out.all().split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(said.contains("Open plan not in this region"), "{said}");
    assert!(said.contains("not in eu-de (the provider's region)") && said.contains("region = \"us-east\""), "{said}");
    assert!(said.contains("ibmqr_instance.open_in_eu"), "the error names the resource: {said}");
}
