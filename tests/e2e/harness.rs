//! The one harness every end-to-end test shares: real Terraform (from .tools/, installed by
//! `make test`), the provider binary cargo built for this test run, and a fresh emulator per test.
//!
//! `IBMQR_TERRAFORM` names the Terraform under test; `make test` runs the suite once with
//! Terraform 1.0.3 and once with 1.15.5. A test that needs a newer Terraform asks
//! [`terraform_has`] and checks what the older version can instead.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use terraform_provider_ibmqr::emulator::{OWNER_IAM_ID, PUBLIC_ACCESS_ID};

pub const API_KEY: &str = "e2e-secret-api-key-0123456789";
pub const ACCOUNT_ID: &str = "0bae863b1df44b9e99f58734da909ab9";
/// Every Terraform command is killed after this long.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Terraform must be there: tests fail, never skip, without it.
pub fn terraform_bin() -> PathBuf {
    let path = std::env::var_os("IBMQR_TERRAFORM").map(PathBuf::from).unwrap_or_else(|| repo_root().join(".tools/terraform"));
    assert!(path.is_file(), "Terraform not found at {}: run `bash scripts/install-terraform.sh` (make test does it)", path.display());
    path
}

/// The version of the Terraform under test, as (major, minor, patch); asked once per test run.
/// When `IBMQR_TERRAFORM_VERSION` names the version a pass expects (scripts/test.sh sets it), a
/// Terraform that reports another fails every test.
pub fn terraform_version() -> (u64, u64, u64) {
    static VERSION: OnceLock<(u64, u64, u64)> = OnceLock::new();
    *VERSION.get_or_init(|| {
        let mut cmd = Command::new(terraform_bin());
        cmd.arg("version").arg("-json").env("CHECKPOINT_DISABLE", "1").env("TF_CLI_CONFIG_FILE", "/dev/null");
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let out = run_with_timeout(cmd, COMMAND_TIMEOUT);
        assert_eq!(out.code, 0, "`terraform version -json` failed:\n{}", out.all());
        let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("`terraform version -json` prints JSON");
        let text = json["terraform_version"].as_str().expect("terraform_version");
        if let Ok(expected) = std::env::var("IBMQR_TERRAFORM_VERSION") {
            assert_eq!(text, expected, "{} is not the Terraform this pass expects", terraform_bin().display());
        }
        let mut parts = text.split(['.', '-']).map(|p| p.parse::<u64>().expect("numeric version part"));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    })
}

/// Whether the Terraform under test is at least `min` (major, minor), which `feature` needs.
/// When it is older, says on stderr what the test checks instead (`instead`), so that the run's
/// output tells what that version left out.
pub fn terraform_has(min: (u64, u64), feature: &str, instead: &str) -> bool {
    let (major, minor, patch) = terraform_version();
    let has = (major, minor) >= min;
    if !has {
        // Straight to the process's stderr, past libtest's capture, so that the run says it.
        let _ = writeln!(
            std::io::stderr(),
            "note: Terraform {major}.{minor}.{patch} lacks {feature} (Terraform {}.{}+): checking {instead} instead",
            min.0,
            min.1
        );
    }
    has
}

/// The provider as registry users install it: the build cargo made for this test run, packed
/// by scripts/package.sh (the script `make release` uses) into a filesystem mirror, once per test
/// process. Every workspace then installs it with a real `terraform init` from that mirror alone;
/// nothing uses dev_overrides.
pub struct Installation {
    /// What the script wrote: the zip, the manifest and SHA256SUMS.
    pub dist: PathBuf,
    /// The filesystem mirror (packed layout) holding the zip.
    pub mirror: PathBuf,
    /// The CLI configuration every workspace uses: the mirror and a shared plugin cache.
    pub cli_config: String,
    /// The `.terraform.lock.hcl` a first `terraform init` wrote, which workspaces start from,
    /// as a team's repository holds one.
    pub lock_file: String,
    /// The version the binary reports (`--version`), which the archive names.
    pub version: String,
}

/// The CLI configuration that installs `registry.terraform.io/ibmqr/ibmqr` from `mirror` and
/// nothing from anywhere else, with `cache` as the plugin cache when given.
pub fn mirror_cli_config(mirror: &Path, cache: Option<&Path>) -> String {
    let cache = cache.map(|dir| format!("plugin_cache_dir = \"{}\"\n", dir.display())).unwrap_or_default();
    format!(
        "{cache}provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/ibmqr/ibmqr\"]\n  }}\n}}\n",
        mirror.display()
    )
}

/// Runs scripts/package.sh on the dev build into `dir` (dist/ and mirror/), with `extra_env`:
/// stripped (Terraform hashes the installed package on every command) and quickly compressed.
pub fn package_dev_build(dir: &Path, extra_env: &[(&str, &str)]) -> TfOutput {
    package_binary(Path::new(env!("CARGO_BIN_EXE_terraform-provider-ibmqr")), dir, &["--level", "1", "--strip"], extra_env)
}

/// Runs scripts/package.sh on `binary` with `options`, into `dir`/dist and `dir`/mirror.
pub fn package_binary(binary: &Path, dir: &Path, options: &[&str], extra_env: &[(&str, &str)]) -> TfOutput {
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("scripts/package.sh"))
        .arg("--binary")
        .arg(binary)
        .args(options)
        .arg("--out")
        .arg(dir.join("dist"))
        .arg("--mirror")
        .arg(dir.join("mirror"))
        .envs(extra_env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    run_with_timeout(cmd, COMMAND_TIMEOUT)
}

/// The [`Installation`] of this test process, made on first use: packed, then installed once by
/// `terraform init` in a seed directory, which fills the plugin cache before any test runs (the
/// cache is not safe for concurrent first installs) and writes the lock file workspaces share.
pub fn installation() -> &'static Installation {
    static INSTALLATION: OnceLock<Installation> = OnceLock::new();
    INSTALLATION.get_or_init(|| {
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        remove_stale_installations(&tmp);
        let dir = tmp.join(format!("e2e-install-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("seed")).expect("installation dir");
        let packed = package_dev_build(&dir, &[("IBMQR_GPG_KEY", "")]);
        assert_eq!(packed.code, 0, "scripts/package.sh failed:\n{}", packed.all());
        let cache = dir.join("plugin-cache");
        std::fs::create_dir_all(&cache).expect("plugin cache");
        let cli_config = mirror_cli_config(&dir.join("mirror"), Some(&cache));
        std::fs::write(dir.join("terraformrc"), &cli_config).expect("cli config");
        std::fs::write(dir.join("seed/main.tf"), PROVIDER_REQUIREMENT).expect("seed config");
        let mut cmd = terraform_command(&dir.join("seed"), &dir.join("terraformrc"));
        cmd.args(["init", "-input=false", "-no-color"]).stdout(Stdio::piped()).stderr(Stdio::piped());
        let out = run_with_timeout(cmd, COMMAND_TIMEOUT);
        assert_eq!(out.code, 0, "terraform init from the mirror failed:\n{}", out.all());
        assert_no_development_overrides(&out);
        let lock_file = std::fs::read_to_string(dir.join("seed/.terraform.lock.hcl")).expect("init wrote the lock file");
        let version = provider_version();
        Installation { dist: dir.join("dist"), mirror: dir.join("mirror"), cli_config, lock_file, version }
    })
}

/// What `terraform-provider-ibmqr --version` reports: Cargo.toml's version.
pub fn provider_version() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_terraform-provider-ibmqr")).arg("--version").output().expect("--version runs");
    assert!(out.status.success(), "--version failed");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().last().expect("a version").to_string()
}

/// Installations of earlier test processes that are gone (their process ID no longer runs).
fn remove_stale_installations(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if let Some(pid) = name.strip_prefix("e2e-install-") {
            if !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// Fails when Terraform said that development overrides are in effect: the provider must be
/// installed as users install it.
pub fn assert_no_development_overrides(out: &TfOutput) {
    assert!(!out.all().to_lowercase().contains("development overrides"), "Terraform runs with development overrides:\n{}", out.all());
}

/// The `terraform` block every workspace's main.tf starts with.
pub const PROVIDER_REQUIREMENT: &str = "terraform {\n  required_providers {\n    ibmqr = { source = \"ibmqr/ibmqr\" }\n  }\n}\n";

/// Terraform in `dir` with the CLI configuration `cli_config` and the environment every command
/// gets (no checkpoint, automation mode, no backtraces or logging inherited from this machine).
pub fn terraform_command(dir: &Path, cli_config: &Path) -> Command {
    let mut cmd = Command::new(terraform_bin());
    cmd.current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", cli_config)
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .env_remove("RUST_BACKTRACE")
        .env_remove("TF_LOG")
        .env_remove("TF_LOG_PROVIDER")
        .stdin(Stdio::null());
    cmd
}

/// A running `ibmqr-emulator`, killed when dropped.
pub struct Emulator {
    child: Child,
    pub url: String,
    http: reqwest::blocking::Client,
}

impl Emulator {
    pub fn start() -> Emulator {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Emulator {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ibmqr-emulator"))
            .args(["--listen", "127.0.0.1:0", "--api-key", API_KEY, "--account-id", ACCOUNT_ID])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("emulator starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first).expect("emulator prints its URL");
        let url = first.trim().to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "emulator printed {url:?}");
        Emulator { child, url, http: reqwest::blocking::Client::new() }
    }

    /// The low-level primitive under the typed methods below, which tests use instead: one
    /// request that must succeed, its JSON answer (null when it has none).
    fn admin(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
        let url = format!("{}{}", self.url, path);
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, &url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().expect("admin request");
        let status = resp.status();
        let text = resp.text().unwrap_or_default();
        assert!(status.is_success(), "admin {url}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }

    /// Every API key, token and password the emulator saw, by kind (`GET /_emulator/credentials`).
    pub fn credentials_seen(&self) -> serde_json::Value {
        self.admin("GET", "/_emulator/credentials", None)
    }

    /// Stored objects of one kind (e.g. "roles").
    pub fn objects(&self, kind: &str) -> Vec<serde_json::Value> {
        let v = self.admin("GET", &format!("/_emulator/objects/{kind}"), None);
        match v {
            serde_json::Value::Array(items) => items,
            serde_json::Value::Object(ref m) => {
                m.get("objects").or_else(|| m.get("items")).and_then(|x| x.as_array()).cloned().unwrap_or_default()
            }
            _ => vec![],
        }
    }

    /// Requests served per route, e.g. `"POST /v2/roles"`.
    pub fn request_counts(&self) -> serde_json::Value {
        self.admin("GET", "/_emulator/requests", None)
    }

    /// Requests served on one route (e.g. `"POST /v2/roles"`) since the last reset; 0 if none.
    pub fn request_count(&self, route: &str) -> u64 {
        let counts = self.request_counts();
        counts["counts"].get(route).map(|n| n.as_u64().unwrap_or_else(|| panic!("count of {route}: {counts}"))).unwrap_or(0)
    }

    /// Requests served on all routes since the last reset.
    pub fn request_total(&self) -> u64 {
        let counts = self.request_counts();
        counts["total"].as_u64().unwrap_or_else(|| panic!("total: {counts}"))
    }

    pub fn reset_request_counts(&self) {
        self.admin("POST", "/_emulator/requests/reset", None);
    }

    /// Every object created from now on stays invisible for this long (IBM's eventual consistency).
    pub fn set_lag(&self, seconds: f64) {
        self.admin("PUT", "/_emulator/lag", Some(serde_json::json!({ "seconds": seconds })));
    }

    /// The emulator's traffic log (kept while its rate-limit mode is on; src/emulator/traffic.rs).
    pub fn traffic_log(&self) -> Vec<serde_json::Value> {
        self.admin("GET", "/_emulator/traffic/log", None)["entries"].as_array().cloned().unwrap_or_default()
    }

    /// Queues a fault: the next `fault.count` requests on its route get its status instead.
    pub fn inject_fault(&self, fault: Fault) {
        let mut body = serde_json::json!({"route": fault.route, "status": fault.status, "count": fault.count, "after": fault.after});
        if let Some(kind) = fault.kind {
            body["kind"] = kind.name().into();
        }
        if let Some(retry_after) = fault.retry_after {
            body["retry_after"] = retry_after.into();
        }
        if let Some(code) = fault.code {
            body["code"] = code.into();
        }
        self.admin("POST", "/_emulator/faults", Some(body));
    }

    /// Starts an emulator whose chaos mode is on from its first request (`--chaos-*` flags).
    pub fn start_with_chaos(chaos: &Chaos, extra: &[&str]) -> Emulator {
        let mut args = chaos.flags();
        args.extend(extra.iter().map(|arg| arg.to_string()));
        Self::start_with(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// Turns chaos mode on (or changes it), its random sequence starting afresh from the seed.
    pub fn set_chaos(&self, chaos: &Chaos) {
        self.admin("PUT", "/_emulator/chaos", Some(chaos.json()));
    }

    pub fn stop_chaos(&self) {
        self.admin("DELETE", "/_emulator/chaos", None);
    }

    /// Faults injected since the last reset, by chaos or the queue:
    /// `{"requests","faults","by_kind":{kind:n},"by_route":{route:{kind:n}},"log":[{"request","route","kind"}]}`.
    pub fn chaos_counts(&self) -> serde_json::Value {
        self.admin("GET", "/_emulator/faults/counts", None)
    }

    pub fn reset_chaos_counts(&self) {
        self.admin("POST", "/_emulator/faults/counts/reset", None);
    }

    /// The kinds of object the emulator stores (e.g. "roles", "groups").
    pub fn kinds(&self) -> Vec<String> {
        let listing = self.admin("GET", "/_emulator/objects", None);
        listing["kinds"].as_object().map(|kinds| kinds.keys().cloned().collect()).unwrap_or_else(|| panic!("kinds: {listing}"))
    }

    /// The stored objects of one kind themselves (without the emulator's record around each).
    pub fn stored(&self, kind: &str) -> Vec<serde_json::Value> {
        self.objects(kind).into_iter().map(unwrap_record).collect()
    }

    /// One stored object itself; the test fails if there is none.
    pub fn object(&self, kind: &str, id: &str) -> serde_json::Value {
        unwrap_record(self.admin("GET", &object_path(kind, id), None))
    }

    /// Stores an object as IBM would hold it, e.g. one made outside Terraform.
    pub fn put_object(&self, kind: &str, id: &str, value: serde_json::Value) {
        self.admin("PUT", &object_path(kind, id), Some(value));
    }

    /// Changes a stored object behind Terraform's back (a JSON merge patch): drift.
    pub fn patch_object(&self, kind: &str, id: &str, patch: serde_json::Value) {
        self.admin("PATCH", &object_path(kind, id), Some(patch));
    }

    /// Deletes a stored object behind Terraform's back.
    pub fn delete_object(&self, kind: &str, id: &str) {
        self.admin("DELETE", &object_path(kind, id), None);
    }

    /// Simulates a federated login (`POST /_emulator/login`): the status and the answer
    /// (`iam_id`, `groups`, `group_names`, `claims`).
    pub fn login(&self, realm: &str, email: &str, claims: Option<serde_json::Value>) -> (u16, serde_json::Value) {
        let mut body = serde_json::json!({"realm": realm, "email": email});
        if let Some(claims) = claims {
            body["claims"] = claims;
        }
        let resp = self.http.post(format!("{}/_emulator/login", self.url)).json(&body).send().expect("login request");
        let status = resp.status().as_u16();
        (status, resp.json().unwrap_or(serde_json::Value::Null))
    }

    /// Makes a user a member of an access group, as IBM stores it.
    pub fn add_member(&self, group_id: &str, iam_id: &str) {
        let member = serde_json::json!({"access_group_id": group_id, "iam_id": iam_id, "type": "user"});
        self.put_object("access_group_members", &member_id(group_id, iam_id), member);
    }

    pub fn remove_member(&self, group_id: &str, iam_id: &str) {
        self.delete_object("access_group_members", &member_id(group_id, iam_id));
    }

    /// IAM IDs of an access group's stored members, sorted.
    pub fn members_of(&self, group_id: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .stored("access_group_members")
            .into_iter()
            .filter(|m| m["access_group_id"] == group_id)
            .filter_map(|m| m["iam_id"].as_str().map(String::from))
            .collect();
        ids.sort();
        ids
    }

    /// Replaces how the emulator processes invitations (docs/emulator.md, user management).
    pub fn set_invite_settings(&self, settings: InviteSettings<'_>) {
        let mut body = serde_json::json!({ "invite_error_domains": settings.error_domains });
        if let Some(ms) = settings.processing_ms {
            body["invite_processing_ms"] = ms.into();
        }
        self.put_object("emulator_settings", "user_management", body);
    }

    /// The plans the emulator's Global Catalog lists under a service. The catalog counts this
    /// request like the provider's.
    pub fn catalog_plans(&self, service_id: &str) -> Vec<serde_json::Value> {
        let list = self.admin("GET", &format!("/api/v1/{service_id}/plan"), None);
        list["resources"].as_array().cloned().unwrap_or_else(|| panic!("catalog plan list: {list}"))
    }
}

/// A fault for [`Emulator::inject_fault`]; the emulator picks the error code from the status
/// unless one is given.
pub struct Fault {
    pub route: &'static str,
    pub status: u16,
    pub count: u32,
    /// Requests served untouched before the fault starts.
    pub after: u32,
    /// A chaos kind instead of the status, such as `FaultKind::ResetAfter`.
    pub kind: Option<FaultKind>,
    pub retry_after: Option<&'static str>,
    pub code: Option<&'static str>,
}

impl Fault {
    pub fn new(route: &'static str, status: u16, count: u32) -> Fault {
        Fault { route, status, count, after: 0, kind: None, retry_after: None, code: None }
    }

    /// The next `count` requests on `route` get a chaos `kind` (e.g. a reset after acting).
    pub fn of_kind(route: &'static str, kind: FaultKind, count: u32) -> Fault {
        Fault { kind: Some(kind), ..Fault::new(route, 500, count) }
    }

    /// The first `requests` matching requests are served; the fault strikes the ones after.
    pub fn after(self, requests: u32) -> Fault {
        Fault { after: requests, ..self }
    }

    pub fn retry_after(self, seconds: &'static str) -> Fault {
        Fault { retry_after: Some(seconds), ..self }
    }

    pub fn code(self, code: &'static str) -> Fault {
        Fault { code: Some(code), ..self }
    }
}

/// A fault kind of the emulator's chaos mode (docs/emulator.md): the emulator's own type, so
/// that the two cannot disagree on names.
pub use terraform_provider_ibmqr::emulator::faults::FaultKind;

/// Chaos settings for [`Emulator::start_with_chaos`] and [`Emulator::set_chaos`]; `None` and
/// `false` leave the emulator's defaults (Retry-After 1 s, stalls of 2 s, token route spared).
#[derive(Clone, Debug)]
pub struct Chaos {
    pub seed: u64,
    /// Share of requests that get a fault, 0.0–1.0.
    pub fraction: f64,
    /// The enabled kinds with their weights.
    pub kinds: Vec<(FaultKind, f64)>,
    /// Route keys such as `"POST /v2/groups"`; empty means every IBM route.
    pub routes: Vec<&'static str>,
    pub retry_after_seconds: Option<u64>,
    pub stall_ms: Option<u64>,
    pub error503_retry_after: bool,
    pub include_token_route: bool,
}

impl Chaos {
    /// Every kind at weight 1, on every IBM route but the token route.
    pub fn new(seed: u64, fraction: f64) -> Chaos {
        Chaos {
            seed,
            fraction,
            kinds: FaultKind::ALL.iter().map(|kind| (*kind, 1.0)).collect(),
            routes: Vec::new(),
            retry_after_seconds: None,
            stall_ms: None,
            error503_retry_after: false,
            include_token_route: false,
        }
    }

    /// Only these kinds, at weight 1 each.
    pub fn kinds(self, kinds: &[FaultKind]) -> Chaos {
        Chaos { kinds: kinds.iter().map(|kind| (*kind, 1.0)).collect(), ..self }
    }

    pub fn routes(self, routes: &[&'static str]) -> Chaos {
        Chaos { routes: routes.to_vec(), ..self }
    }

    /// The body of `PUT /_emulator/chaos`.
    fn json(&self) -> serde_json::Value {
        let kinds: serde_json::Map<String, serde_json::Value> =
            self.kinds.iter().map(|(kind, weight)| (kind.name().to_string(), (*weight).into())).collect();
        let mut body = serde_json::json!({
            "seed": self.seed, "fraction": self.fraction, "kinds": kinds,
            "error503_retry_after": self.error503_retry_after, "include_token_route": self.include_token_route,
        });
        if !self.routes.is_empty() {
            body["routes"] = self.routes.clone().into();
        }
        if let Some(seconds) = self.retry_after_seconds {
            body["retry_after_seconds"] = seconds.into();
        }
        if let Some(ms) = self.stall_ms {
            body["stall_ms"] = ms.into();
        }
        body
    }

    /// The same settings as `ibmqr-emulator` flags.
    fn flags(&self) -> Vec<String> {
        let kinds: Vec<String> = self.kinds.iter().map(|(kind, weight)| format!("{}={weight}", kind.name())).collect();
        let mut flags = vec![
            format!("--chaos-seed={}", self.seed),
            format!("--chaos-fraction={}", self.fraction),
            format!("--chaos-kinds={}", kinds.join(",")),
        ];
        flags.extend(self.routes.iter().map(|route| format!("--chaos-route={route}")));
        if let Some(seconds) = self.retry_after_seconds {
            flags.push(format!("--chaos-retry-after={seconds}"));
        }
        if let Some(ms) = self.stall_ms {
            flags.push(format!("--chaos-stall-ms={ms}"));
        }
        if self.error503_retry_after {
            flags.push("--chaos-503-retry-after".to_string());
        }
        if self.include_token_route {
            flags.push("--chaos-include-token-route".to_string());
        }
        flags
    }
}

/// For [`Emulator::set_invite_settings`]: how long IBM takes to process an invitation (the
/// emulator's default when `None`) and the email domains whose invitations fail.
#[derive(Default)]
pub struct InviteSettings<'a> {
    pub processing_ms: Option<u64>,
    pub error_domains: &'a [&'a str],
}

fn object_path(kind: &str, id: &str) -> String {
    // IDs such as a membership's GROUP/IAM_ID hold a slash, which must not split the path.
    format!("/_emulator/objects/{kind}/{}", id.replace('/', "%2F"))
}

/// The emulator's ID of a membership.
fn member_id(group_id: &str, iam_id: &str) -> String {
    format!("{group_id}/{iam_id}")
}

/// Admin listings wrap each object in its record (revision, visibility); take the object itself.
pub fn unwrap_record(record: serde_json::Value) -> serde_json::Value {
    match record.get("value") {
        Some(inner) if inner.is_object() => inner.clone(),
        _ => record,
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct TfOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl TfOutput {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// A Terraform working directory wired to the dev build of the provider and one emulator.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    pub endpoint: String,
    pub api_key: String,
    pub extra_env: Vec<(String, String)>,
    /// Whether `terraform init` has run here (see [`Workspace::command`]).
    initialised: AtomicBool,
}

impl Workspace {
    /// A workspace that installs the provider from this process's [`installation`], starting from
    /// its lock file as a team's checkout would.
    pub fn new(emulator: &Emulator) -> Workspace {
        let installation = installation();
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("terraformrc"), &installation.cli_config).expect("cli config");
        std::fs::write(dir.path().join(".terraform.lock.hcl"), &installation.lock_file).expect("lock file");
        Workspace {
            dir,
            endpoint: emulator.url.clone(),
            api_key: API_KEY.to_string(),
            extra_env: vec![],
            initialised: AtomicBool::new(false),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Whether a .tf file is here yet.
    fn has_configuration(&self) -> bool {
        std::fs::read_dir(self.path())
            .map(|entries| entries.flatten().any(|entry| entry.path().extension().is_some_and(|e| e == "tf")))
            .unwrap_or(false)
    }

    /// Writes main.tf with the provider requirement in front of `body`.
    pub fn write(&self, body: &str) {
        let text = format!("{PROVIDER_REQUIREMENT}\nprovider \"ibmqr\" {{}}\n\n{body}\n");
        std::fs::write(self.path().join("main.tf"), text).expect("main.tf");
    }

    /// Writes main.tf as `text` is, with its own provider requirement.
    pub fn write_raw(&self, text: &str) {
        std::fs::write(self.path().join("main.tf"), text).expect("main.tf");
    }

    /// Copies a directory's .tf files (e.g. an example) into the workspace, as they are.
    pub fn copy_config_from(&self, dir: &Path) {
        for entry in std::fs::read_dir(dir).expect("config dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "tf") {
                std::fs::copy(&path, self.path().join(path.file_name().expect("name"))).expect("copy");
            }
        }
    }

    /// Runs one Terraform command here. Fails the test when Terraform says development overrides
    /// are in effect.
    pub fn terraform(&self, args: &[&str]) -> TfOutput {
        let mut cmd = self.command(args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let out = run_with_timeout(cmd, COMMAND_TIMEOUT);
        assert_no_development_overrides(&out);
        out
    }

    /// `terraform init`, which must succeed: installs the provider from the mirror (and the
    /// configuration's modules).
    pub fn init_ok(&self) -> TfOutput {
        let out = self.terraform(&["init", "-input=false", "-no-color"]);
        assert_eq!(out.code, 0, "init failed:\n{}", out.all());
        out
    }

    /// A Terraform command wired to this workspace, the installed provider and the emulator.
    /// The first command (other than `init` and `version`) run once the workspace has a
    /// configuration runs `terraform init` first, as a user does after a checkout; a test that
    /// adds modules later runs [`Workspace::init_ok`] itself.
    fn command(&self, args: &[&str]) -> Command {
        match args.first().copied() {
            Some("init") => self.initialised.store(true, Ordering::SeqCst),
            Some("version") => {}
            _ if !self.initialised.load(Ordering::SeqCst) && self.has_configuration() => {
                self.init_ok();
            }
            _ => {}
        }
        let mut cmd = terraform_command(self.path(), &self.path().join("terraformrc"));
        cmd.args(args)
            .env("IBMQR_ENDPOINT", &self.endpoint)
            .env("IC_API_KEY", &self.api_key)
            .env_remove("IBMCLOUD_API_KEY")
            .env_remove("IC_REGION")
            .env_remove("IBMCLOUD_REGION");
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Starts `terraform apply`, sends SIGINT to its process group (as a user's Ctrl-C) once
    /// `ready` holds, and returns whether it succeeded and how long it ran after the interrupt
    /// (Terraform's start-up, slow on a busy machine, is not the provider's to answer for).
    /// Asserts that Terraform itself took the interrupt (it says so), so that a launcher which did
    /// not pass the signal on to Terraform fails the test.
    pub fn apply_interrupted_when(&self, ready: impl Fn() -> bool) -> (bool, Duration) {
        use std::os::unix::process::CommandExt;
        let mut cmd = self.command(&["apply", "-auto-approve", "-input=false", "-no-color"]);
        // Files, not pipes: nobody reads while the test waits.
        let stdout_path = self.path().join("interrupted.stdout");
        let stderr_path = self.path().join("interrupted.stderr");
        let file = |p: &Path| std::fs::File::create(p).expect("output file");
        cmd.stdout(file(&stdout_path)).stderr(file(&stderr_path)).process_group(0);
        let mut child = cmd.spawn().expect("terraform starts");
        let started = Instant::now();
        while !ready() {
            assert!(started.elapsed() < Duration::from_secs(60), "the apply never reached the point to interrupt");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
        unsafe {
            libc::kill(-(child.id() as i32), libc::SIGINT);
        }
        let interrupted = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                let said =
                    std::fs::read_to_string(&stdout_path).unwrap_or_default() + &std::fs::read_to_string(&stderr_path).unwrap_or_default();
                assert!(said.contains("Interrupt received"), "Terraform did not take the interrupt:\n{said}");
                assert_no_development_overrides(&TfOutput { code: 0, stdout: said, stderr: String::new() });
                return (status.success(), interrupted.elapsed());
            }
            if started.elapsed() > COMMAND_TIMEOUT {
                unsafe {
                    libc::kill(-(child.id() as i32), libc::SIGKILL);
                }
                panic!("terraform did not stop after SIGINT");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn apply(&self) -> TfOutput {
        self.terraform(&["apply", "-auto-approve", "-input=false", "-no-color"])
    }

    pub fn apply_ok(&self) -> TfOutput {
        let out = self.apply();
        assert_eq!(out.code, 0, "apply failed:\n{}", out.all());
        out
    }

    /// `plan -detailed-exitcode`: 0 no changes, 2 changes, 1 error.
    pub fn plan(&self) -> TfOutput {
        self.terraform(&["plan", "-detailed-exitcode", "-input=false", "-no-color"])
    }

    pub fn assert_no_changes(&self) {
        let out = self.plan();
        assert_eq!(out.code, 0, "expected no changes:\n{}", out.all());
    }

    /// The plan as data: `plan -out` then `show -json` of the saved plan. Asserts the plan ran.
    pub fn plan_json(&self) -> serde_json::Value {
        let out = self.terraform(&["plan", "-out=e2e.tfplan", "-input=false", "-no-color"]);
        assert_eq!(out.code, 0, "plan failed:\n{}", out.all());
        let shown = self.terraform(&["show", "-json", "-no-color", "e2e.tfplan"]);
        assert_eq!(shown.code, 0, "show -json failed:\n{}", shown.all());
        serde_json::from_str(&shown.stdout).expect("plan JSON")
    }

    /// [`Workspace::plan_json`], asserting that the plan changes exactly the `expected`
    /// addresses, each with its actions (e.g. `["update"]`, `["delete", "create"]`); every
    /// other resource is a no-op. Returns the plan for further checks.
    pub fn plan_changes_exactly(&self, expected: &[(&str, &[&str])]) -> serde_json::Value {
        let plan = self.plan_json();
        let expected: BTreeMap<String, Vec<String>> =
            expected.iter().map(|(address, actions)| (address.to_string(), actions.iter().map(|a| a.to_string()).collect())).collect();
        assert_eq!(planned_changes(&plan), expected, "planned changes; the plan: {plan}");
        plan
    }

    /// The state as data: `show -json` without a plan file.
    pub fn state_json(&self) -> serde_json::Value {
        let shown = self.terraform(&["show", "-json", "-no-color"]);
        assert_eq!(shown.code, 0, "show -json failed:\n{}", shown.all());
        serde_json::from_str(&shown.stdout).expect("state JSON")
    }

    pub fn import(&self, address: &str, id: &str) -> TfOutput {
        self.terraform(&["import", "-input=false", "-no-color", address, id])
    }

    /// `terraform import` that must succeed.
    pub fn import_ok(&self, address: &str, id: &str) -> TfOutput {
        let out = self.import(address, id);
        assert_eq!(out.code, 0, "import of {address} failed:\n{}", out.all());
        out
    }

    pub fn destroy_ok(&self) -> TfOutput {
        let out = self.terraform(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
        assert_eq!(out.code, 0, "destroy failed:\n{}", out.all());
        out
    }

    pub fn output_json(&self) -> serde_json::Value {
        let out = self.terraform(&["output", "-json", "-no-color"]);
        assert_eq!(out.code, 0, "output failed:\n{}", out.all());
        serde_json::from_str(&out.stdout).expect("output json")
    }

    pub fn state_rm(&self, address: &str) -> TfOutput {
        self.terraform(&["state", "rm", "-no-color", address])
    }
}

// --- configurations and text shared by the test modules ---

/// An HCL list of strings: `["a", "b"]`.
pub fn hcl_strings(items: &[&str]) -> String {
    format!("[{}]", items.iter().map(|item| format!("\"{item}\"")).collect::<Vec<_>>().join(", "))
}

/// An HCL string: `"text"`.
pub fn quoted(text: &str) -> String {
    format!("\"{text}\"")
}

/// An HCL block: `head` (e.g. `timeouts`), its attributes as (name, HCL value) with the `=`
/// aligned, then its nested blocks as this function writes them.
pub fn hcl_block(head: &str, attributes: &[(&str, String)], blocks: &[String]) -> String {
    let width = attributes.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut text = format!("{head} {{\n");
    for (name, value) in attributes {
        text += &format!("  {name:width$} = {value}\n");
    }
    for line in blocks.iter().flat_map(|block| block.lines()) {
        text += &format!("  {line}\n");
    }
    text + "}\n"
}

/// The resource `{kind}.{label}`, as [`hcl_block`] writes blocks.
pub fn resource(kind: &str, label: &str, attributes: &[(&str, String)], blocks: &[String]) -> String {
    hcl_block(&format!("resource \"{kind}\" \"{label}\""), attributes, blocks)
}

/// A `timeouts` block with the given (operation, limit) pairs, e.g. `("create", "1s")`.
pub fn timeouts(limits: &[(&str, &str)]) -> String {
    let limits: Vec<(&str, String)> = limits.iter().map(|(operation, limit)| (*operation, quoted(limit))).collect();
    hcl_block("timeouts", &limits, &[])
}

/// The access group `ibmqr_access_group.{label}`, without a description when `description` is `None`.
pub fn access_group_resource(label: &str, name: &str, description: Option<&str>) -> String {
    let mut attributes = vec![("name", quoted(name))];
    attributes.extend(description.map(|d| ("description", quoted(d))));
    resource("ibmqr_access_group", label, &attributes, &[])
}

/// The access group `ml`, named `project-ml`, without a description.
pub fn ml_group() -> String {
    access_group_resource("ml", "project-ml", None)
}

/// The single membership `ibmqr_access_group_member.{label}` of `iam_id` in the group `group`.
pub fn member_resource(label: &str, group: &str, iam_id: &str) -> String {
    let attributes = [("access_group_id", format!("ibmqr_access_group.{group}.id")), ("iam_id", quoted(iam_id))];
    resource("ibmqr_access_group_member", label, &attributes, &[])
}

/// The service ID that [`ci_group_with_bot`] makes a member.
pub const BOT_SERVICE_ID: &str = "iam-ServiceId-9f8e7d6c-5b4a-3c2d-1e0f-a9b8c7d6e5f4";

/// The access group `ci` and the membership `bot` of [`BOT_SERVICE_ID`] in it.
pub fn ci_group_with_bot() -> String {
    access_group_resource("ci", "ci", None) + &member_resource("bot", "ci", BOT_SERVICE_ID)
}

/// The exclusive member list `ml` of the group `ml`: `lists` are (attribute, IDs), e.g.
/// `("iam_ids", &["IBMid-270000AAAA"])`; the attributes not listed stay unset.
pub fn ml_members(lists: &[(&str, &[&str])]) -> String {
    let mut attributes = vec![("access_group_id", "ibmqr_access_group.ml.id".to_string())];
    attributes.extend(lists.iter().map(|(name, ids)| (*name, hcl_strings(ids))));
    resource("ibmqr_access_group_members", "ml", &attributes, &[])
}

/// The policy `ml` of the group `ml`: its `roles`, and its `resource` block's attributes.
pub fn ml_policy(roles: &[&str], scope: &[(&str, String)]) -> String {
    let attributes = [("access_group_id", "ibmqr_access_group.ml.id".to_string()), ("roles", hcl_strings(roles))];
    resource("ibmqr_access_group_policy", "ml", &attributes, &[hcl_block("resource", scope, &[])])
}

/// The invitation `ibmqr_user_invite.{label}` of `email` into the group `ml`.
pub fn ml_invite(label: &str, email: &str) -> String {
    let attributes = [("email", quoted(email)), ("access_group_ids", "[ibmqr_access_group.ml.id]".to_string())];
    resource("ibmqr_user_invite", label, &attributes, &[])
}

/// The resource group `ibmqr_resource_group.{name}` named `name`, with the given `timeouts`
/// (none when empty).
pub fn resource_group_resource(name: &str, limits: &[(&str, &str)]) -> String {
    let blocks = if limits.is_empty() { vec![] } else { vec![timeouts(limits)] };
    resource("ibmqr_resource_group", name, &[("name", quoted(name))], &blocks)
}

/// The dynamic rule `ibmqr_access_group_dynamic_rule.{label}`, as [`rule_resource`] writes it:
/// `group` is the HCL of its access group ID; `conditions` are (claim, operator, value).
pub struct Rule<'a> {
    pub label: &'a str,
    pub group: &'a str,
    pub name: &'a str,
    pub realm: &'a str,
    pub expiration_hours: i64,
    pub conditions: &'a [(&'a str, &'a str, &'a str)],
}

pub fn rule_resource(rule: &Rule<'_>) -> String {
    let conditions: String = rule
        .conditions
        .iter()
        .map(|(claim, operator, value)| {
            format!("\n  condition {{\n    claim    = \"{claim}\"\n    operator = \"{operator}\"\n    value    = \"{value}\"\n  }}\n")
        })
        .collect();
    format!(
        "\nresource \"ibmqr_access_group_dynamic_rule\" \"{}\" {{\n  access_group_id  = {}\n  name             = \"{}\"\n  realm            = \"{}\"\n  expiration_hours = {}\n{conditions}}}\n",
        rule.label, rule.group, rule.name, rule.realm, rule.expiration_hours
    )
}

/// The dynamic rule `ml` of the group `ml`, `project-ml-members`, with these conditions.
pub fn ml_members_rule<'a>(conditions: &'a [(&'a str, &'a str, &'a str)]) -> Rule<'a> {
    Rule {
        label: "ml",
        group: "ibmqr_access_group.ml.id",
        name: "project-ml-members",
        realm: "appid://AppID-4f6a8c0e-2b4d-4e6f-8a0c-2e4f6a8c0e2b",
        expiration_hours: 12,
        conditions,
    }
}

/// A second `ibmqr` provider, reached as `ibmqr.{alias}`, in another region.
pub fn aliased_provider(alias: &str, region: &str) -> String {
    format!("provider \"ibmqr\" {{\n  alias  = \"{alias}\"\n  region = \"{region}\"\n}}\n")
}

/// Terraform wraps long messages; compare with whitespace collapsed.
pub fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Two access groups, `ml` and `fin`, with their IDs as outputs of the same names.
pub const TWO_ACCESS_GROUPS: &str = r#"
resource "ibmqr_access_group" "ml" {
  name = "project-ml"
}
resource "ibmqr_access_group" "fin" {
  name = "project-finance"
}
output "ml"  { value = ibmqr_access_group.ml.id }
output "fin" { value = ibmqr_access_group.fin.id }
"#;

/// What the Qiskit Runtime user's custom role may do.
pub const MEMBER_ACTIONS: [&str; 3] = ["quantum-computing.job.read", "quantum-computing.job.create", "quantum-computing.device.read"];

/// The custom role `ibmqr_custom_role.member`.
pub fn role_resource(name: &str, display_name: &str, actions: &[&str]) -> String {
    format!(
        r#"
resource "ibmqr_custom_role" "member" {{
  name         = "{name}"
  display_name = "{display_name}"
  description  = "Runs and reads jobs"
  actions      = {}
}}
"#,
        hcl_strings(actions)
    )
}

/// The Qiskit Runtime user's custom role, as most custom-role tests write it.
pub fn member_role() -> String {
    role_resource("QiskitRuntimeUser", "Qiskit Runtime user", &MEMBER_ACTIONS)
}

/// The member role, made by one configuration, for another to adopt: its ID, and the resource
/// block that describes it.
pub fn role_made_elsewhere(emu: &Emulator) -> (String, String) {
    let maker = Workspace::new(emu);
    let resource = member_role();
    maker.write(&resource);
    maker.apply_ok();
    let id = state_attributes(&maker.state_json(), "ibmqr_custom_role.member")["id"].as_str().expect("id").to_string();
    (id, resource)
}

/// Runs a command in its own process group and kills the whole group after `limit`.
pub fn run_with_timeout(mut cmd: Command, limit: Duration) -> TfOutput {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
    let mut child = cmd.spawn().expect("command starts");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status.code().unwrap_or(-1);
        }
        if started.elapsed() > limit {
            unsafe {
                libc::kill(-(child.id() as i32), libc::SIGKILL);
            }
            let _ = child.wait();
            panic!("command timed out after {limit:?}: {:?}", cmd.get_args().collect::<Vec<_>>());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    TfOutput { code, stdout: out_reader.join().unwrap_or_default(), stderr: err_reader.join().unwrap_or_default() }
}

/// One resource's entry in a [`Workspace::plan_json`] plan's `resource_changes`.
pub fn resource_change<'a>(plan: &'a serde_json::Value, address: &str) -> &'a serde_json::Value {
    let changes = plan["resource_changes"].as_array().unwrap_or_else(|| panic!("no resource_changes: {plan}"));
    changes.iter().find(|c| c["address"] == address).unwrap_or_else(|| panic!("the plan has no {address}: {plan}"))
}

/// What the plan holds for `attribute` of `address` before and after the change.
pub fn planned_before_and_after<'a>(
    plan: &'a serde_json::Value,
    address: &str,
    attribute: &str,
) -> (&'a serde_json::Value, &'a serde_json::Value) {
    let change = &resource_change(plan, address)["change"];
    (&change["before"][attribute], &change["after"][attribute])
}

/// [`planned_actions`] less the no-ops: what the plan would change.
pub fn planned_changes(plan: &serde_json::Value) -> BTreeMap<String, Vec<String>> {
    planned_actions(plan).into_iter().filter(|(_, actions)| actions != &["no-op"]).collect()
}

/// The addresses of the resources (not data sources) in a [`Workspace::state_json`] state.
pub fn state_resource_addresses(state: &serde_json::Value) -> Vec<String> {
    let resources = state["values"]["root_module"]["resources"].as_array().cloned().unwrap_or_default();
    resources.iter().filter(|r| r["mode"] == "managed").map(|r| r["address"].as_str().expect("address").to_string()).collect()
}

/// The attribute values of one resource in a [`Workspace::state_json`] state.
pub fn state_attributes<'a>(state: &'a serde_json::Value, address: &str) -> &'a serde_json::Value {
    let resources = state["values"]["root_module"]["resources"].as_array().unwrap_or_else(|| panic!("no resources in state: {state}"));
    let resource = resources.iter().find(|r| r["address"] == address).unwrap_or_else(|| panic!("no {address} in state: {state}"));
    &resource["values"]
}

/// The planned actions per resource address in a [`Workspace::plan_json`] plan, e.g.
/// `ibmqr_instance.eu` → `["delete", "create"]`.
pub fn planned_actions(plan: &serde_json::Value) -> BTreeMap<String, Vec<String>> {
    let changes = plan["resource_changes"].as_array().cloned().unwrap_or_default();
    changes
        .iter()
        .map(|change| {
            let address = change["address"].as_str().expect("address").to_string();
            let actions = change["change"]["actions"].as_array().expect("actions");
            (address, actions.iter().map(|a| a.as_str().expect("action").to_string()).collect())
        })
        .collect()
}

// --- state and import verification ---

/// One resource of a `terraform show -json` state: its `values`, and whether it is tainted.
pub struct StateResource {
    pub values: serde_json::Value,
    pub tainted: bool,
}

impl StateResource {
    /// The attribute `name` as a string (panics naming it when it is not one).
    pub fn string(&self, name: &str) -> String {
        self.values[name].as_str().unwrap_or_else(|| panic!("{name} is not a string in {}", self.values)).to_string()
    }
}

impl Workspace {
    /// `terraform state rm` of `addresses`, which must succeed.
    pub fn state_rm_ok(&self, addresses: &[&str]) {
        let mut args = vec!["state", "rm", "-no-color"];
        args.extend_from_slice(addresses);
        let out = self.terraform(&args);
        assert_eq!(out.code, 0, "state rm failed:\n{}", out.all());
    }

    /// `terraform apply` that must fail (exit code 1), e.g. under an injected fault.
    pub fn apply_fails(&self) -> TfOutput {
        let out = self.apply();
        assert_eq!(out.code, 1, "apply was expected to fail:\n{}", out.all());
        out
    }
}

/// The resource at `address` (root module) in a [`Workspace::state_json`] state, if there.
pub fn state_resource(state: &serde_json::Value, address: &str) -> Option<StateResource> {
    let resources = state["values"]["root_module"]["resources"].as_array()?;
    let found = resources.iter().find(|r| r["address"] == address)?;
    Some(StateResource { values: found["values"].clone(), tainted: found["tainted"].as_bool().unwrap_or(false) })
}

/// [`state_resource`] that must be there.
pub fn state_values(state: &serde_json::Value, address: &str) -> serde_json::Value {
    state_attributes(state, address).clone()
}

/// ImportStateVerify: every attribute of the imported object equals the applied one, except those
/// `may_differ` lists, each with the reason it may. Fails listing every difference at once; an
/// attribute listed that the resource does not have fails too, so the list cannot go stale quietly.
pub fn assert_imported_matches(address: &str, applied: &serde_json::Value, imported: &serde_json::Value, may_differ: &[(&str, &str)]) {
    let empty = serde_json::Map::new();
    let applied = applied.as_object().unwrap_or_else(|| panic!("{address}: applied values are not an object: {applied}"));
    let imported = imported.as_object().unwrap_or(&empty);
    assert!(!imported.is_empty(), "{address}: nothing imported");
    let names: std::collections::BTreeSet<&String> = applied.keys().chain(imported.keys()).collect();
    for (name, _) in may_differ {
        assert!(names.iter().any(|n| n.as_str() == *name), "{address}: {name:?} is listed as may differ but is no attribute of it");
    }
    let null = serde_json::Value::Null;
    let mut differences = Vec::new();
    for name in names {
        let (before, after) = (applied.get(name).unwrap_or(&null), imported.get(name).unwrap_or(&null));
        if before == after {
            continue;
        }
        match may_differ.iter().find(|(n, _)| n == name) {
            Some((_, why)) => println!("{address}.{name} differs after import, as it may ({why}): applied {before}, imported {after}"),
            None => differences.push(format!("  {name}:\n    applied:  {before}\n    imported: {after}")),
        }
    }
    assert!(differences.is_empty(), "{address}: the imported object differs from the applied one:\n{}", differences.join("\n"));
}

/// The planned actions for `address` in a [`Workspace::plan_json`] plan and the top-level
/// attributes whose planned value differs from the prior one.
pub fn planned_change(plan: &serde_json::Value, address: &str) -> (Vec<String>, std::collections::BTreeSet<String>) {
    let change = resource_change(plan, address);
    let actions =
        change["change"]["actions"].as_array().expect("actions").iter().map(|a| a.as_str().expect("action").to_string()).collect();
    let (before, after) = (&change["change"]["before"], &change["change"]["after"]);
    let empty = serde_json::Map::new();
    let (b, a) = (before.as_object().unwrap_or(&empty), after.as_object().unwrap_or(&empty));
    let unknown = change["change"]["after_unknown"].as_object().cloned().unwrap_or_default();
    let changed =
        b.keys().chain(a.keys()).filter(|k| b.get(*k) != a.get(*k) || unknown.get(*k).is_some_and(|u| u == true)).cloned().collect();
    (actions, changed)
}

impl Emulator {
    /// The next `count` requests to `route` (e.g. `"GET /v2/roles/{id}"`) get `status` instead of
    /// service. A 4xx other than 429 is never retried by the provider, so it fails the step at once.
    pub fn fail_requests(&self, route: &str, status: u16, count: u32) {
        self.admin("POST", "/_emulator/faults", Some(serde_json::json!({"route": route, "status": status, "count": count})));
    }

    /// Drops every queued fault.
    pub fn clear_faults(&self) {
        self.admin("DELETE", "/_emulator/faults", None);
    }

    /// Faults still queued, e.g. to check one was used.
    pub fn queued_faults(&self) -> Vec<serde_json::Value> {
        self.admin("GET", "/_emulator/faults", None)["faults"].as_array().cloned().unwrap_or_default()
    }

    /// Objects created from now on stay invisible to reads for `seconds` (IBM's eventual consistency).
    pub fn set_visibility_lag(&self, seconds: f64) {
        self.admin("PUT", "/_emulator/lag", Some(serde_json::json!({"seconds": seconds})));
    }

    /// Ends the consistency lag: objects made under it are visible now, and new ones at once.
    pub fn end_lag(&self) {
        self.admin("DELETE", "/_emulator/lag", None);
    }

    /// Waits until every stored object of `kind` is visible to reads (a lag set earlier is over).
    pub fn wait_until_all_visible(&self, kind: &str) {
        let started = Instant::now();
        while self.objects(kind).iter().any(|entry| entry["visible"] == false) {
            assert!(started.elapsed() < Duration::from_secs(60), "{kind} objects stayed invisible");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// After an apply that failed in a step after the request that made the object: the object is in
/// state at `address` with the id of the one object `made` lists (each as state writes its id),
/// and tainted, since Terraform marks an object whose create failed so that the next apply
/// replaces it. Then, with the faults cleared, the next apply leaves exactly one object, the one
/// state names, and nothing more to change. Returns what that apply said.
pub fn assert_failed_create_kept_then_converges(emu: &Emulator, ws: &Workspace, address: &str, made: impl Fn() -> Vec<String>) -> TfOutput {
    let state = ws.state_json();
    let kept = state_resource(&state, address).unwrap_or_else(|| panic!("the failed create lost {address} from state: {state}"));
    assert!(kept.tainted, "{address} is kept tainted, to be replaced by the next apply: {state}");
    assert_eq!(made(), vec![kept.string("id")], "state names the one object the failed create made");
    assert!(emu.queued_faults().is_empty(), "every injected fault was used: {:?}", emu.queued_faults());

    emu.clear_faults();
    let applied = ws.apply_ok();
    let state = ws.state_json();
    let now = state_resource(&state, address).unwrap_or_else(|| panic!("{address} is not in state after the second apply"));
    assert!(!now.tainted, "{address} is no longer tainted");
    assert_eq!(made(), vec![now.string("id")], "one object, no duplicate, and state names it");
    ws.assert_no_changes();
    applied
}

// --- what the emulator holds, each as state writes its id ---

/// The `id` of each stored object.
pub fn ids_of(objects: Vec<serde_json::Value>) -> Vec<String> {
    objects.iter().map(|o| o["id"].as_str().unwrap_or_else(|| panic!("no id in {o}")).to_string()).collect()
}

/// Ids of the access groups made, so not IBM's built-in Public Access group.
pub fn group_ids(emu: &Emulator) -> Vec<String> {
    ids_of(emu.stored("access_groups")).into_iter().filter(|id| id != PUBLIC_ACCESS_ID).collect()
}

/// IAM IDs of the account's users but its owner, who is always there.
pub fn user_ids(emu: &Emulator) -> Vec<String> {
    ids_of(emu.stored("users")).into_iter().filter(|id| id != OWNER_IAM_ID).collect()
}

/// Static memberships as GROUP_ID/IAM_ID, the form `ibmqr_access_group_member` ids take.
pub fn memberships(emu: &Emulator) -> Vec<String> {
    let stored = emu.stored("access_group_members");
    stored.iter().map(|m| format!("{}/{}", m["access_group_id"].as_str().expect("group"), m["iam_id"].as_str().expect("iam_id"))).collect()
}

/// Dynamic rules as GROUP_ID/RULE_ID, the form `ibmqr_access_group_dynamic_rule` ids take.
pub fn rule_ids(emu: &Emulator) -> Vec<String> {
    let rules = emu.stored("access_group_rules");
    rules.iter().map(|r| format!("{}/{}", r["access_group_id"].as_str().expect("group"), r["id"].as_str().expect("id"))).collect()
}

/// Ids of the resource groups made, so not the account's default group.
pub fn made_resource_group_ids(emu: &Emulator) -> Vec<String> {
    ids_of(emu.stored("resource_groups").into_iter().filter(|g| g["default"] != true).collect())
}

/// Whether a stored instance is live: provisioning or active (purged ones stay stored as `removed`).
fn is_live(instance: &serde_json::Value) -> bool {
    instance["state"] == "active" || instance["state"] == "provisioning"
}

fn crn(instance: &serde_json::Value) -> String {
    instance["crn"].as_str().unwrap_or_else(|| panic!("no crn in {instance}")).to_string()
}

/// Live instances by CRN, which state holds as the id.
pub fn live_instances(emu: &Emulator) -> Vec<String> {
    emu.stored("instances").iter().filter(|i| is_live(i)).map(crn).collect()
}

/// Live App ID instances by CRN.
pub fn live_directories(emu: &Emulator) -> Vec<String> {
    live_instances(emu).into_iter().filter(|crn| crn.contains(":appid:")).collect()
}

// --- files a run leaves ---

/// Every regular file under `dir`, but the installed provider packages (which no run writes to).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).expect("readable directory").flatten() {
            let path = entry.path();
            let kind = entry.file_type().expect("file type");
            if kind.is_dir() && !path.ends_with(".terraform/providers") {
                pending.push(path);
            } else if kind.is_file() {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Unpacks a saved plan (a zip archive) into `into`, so that its members are searched unpacked.
pub fn unpack_saved_plan(plan: &Path, into: &Path) {
    let unpacked = Command::new("python3")
        .args(["-c", "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])"])
        .arg(plan)
        .arg(into)
        .status()
        .expect("python3 unpacks the saved plan");
    assert!(unpacked.success(), "the saved plan is not a zip archive");
}
