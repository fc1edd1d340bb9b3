#!/usr/bin/env python3
"""Organizations at scale (called by scripts/bench.sh): generated configurations of 10, 100 and 300
projects applied, refreshed (a no-op plan) and destroyed against the emulator, once without latency
and once with 20 ms per request, plus a rate-limited run. Prints one table with the targets beside.

Each project has one access group, one policy, two invitations and one dynamic rule; each
configuration adds one resource group, one instance and one custom role. Invitations are processed
at once (`invite_processing_ms = 0`), so the counts are those of the path without lag.

Environment: PROVIDER_DIR (holds terraform-provider-ibmqr and ibmqr-emulator), TERRAFORM, SIZES
(default "10 100 300"), RATE_LIMIT_PROJECTS (default 100; 0 skips the run), BINARY_SIZE and
HANDSHAKE_MS (measured by bench.sh).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

LATENCY_MS = 20
PARALLELISM = 10
RATE_LIMIT = 40
PROVIDER_COMM = "terraform-provi"  # /proc/<pid>/comm keeps 15 characters

provider_dir = os.environ["PROVIDER_DIR"]
terraform = os.environ["TERRAFORM"]
sizes = [int(s) for s in os.environ.get("SIZES", "10 100 300").split()]
rate_limit_projects = int(os.environ.get("RATE_LIMIT_PROJECTS", "100"))


def config(projects):
    names = ", ".join(f'"p{i:03d}"' for i in range(projects))
    return f"""terraform {{
  required_providers {{
    ibmqr = {{ source = "ibmqr/ibmqr" }}
  }}
}}

provider "ibmqr" {{}}

locals {{
  projects = toset([{names}])
  invites  = merge([for p in local.projects : {{ "${{p}}-a" = p, "${{p}}-b" = p }}]...)
}}

resource "ibmqr_resource_group" "bench" {{
  name = "bench"
}}

resource "ibmqr_instance" "bench" {{
  name              = "qr-bench"
  plan              = "open"
  region            = "us-east"
  resource_group_id = ibmqr_resource_group.bench.id
  tags              = ["bench"]
  purge_on_destroy  = true
}}

resource "ibmqr_custom_role" "member" {{
  name         = "QiskitBenchUser"
  display_name = "Qiskit bench user"
  actions      = ["quantum-computing.job.create", "quantum-computing.job.read"]
}}

resource "ibmqr_access_group" "project" {{
  for_each = local.projects
  name     = "project-${{each.key}}"
}}

resource "ibmqr_access_group_policy" "project" {{
  for_each        = local.projects
  access_group_id = ibmqr_access_group.project[each.key].id
  roles           = ["Viewer", ibmqr_custom_role.member.crn]
  resource {{
    instance_id = ibmqr_instance.bench.crn
  }}
}}

resource "ibmqr_user_invite" "member" {{
  for_each         = local.invites
  email            = "${{each.key}}@example.edu"
  access_group_ids = [ibmqr_access_group.project[each.value].id]
}}

resource "ibmqr_access_group_dynamic_rule" "project" {{
  for_each         = local.projects
  access_group_id  = ibmqr_access_group.project[each.key].id
  name             = "rule-${{each.key}}"
  realm            = "appid://AppID-4f6a8c0e-2b4d-4e6f-8a0c-2e4f6a8c0e2b"
  expiration_hours = 12
  condition {{
    claim    = "project"
    operator = "EQUALS"
    value    = each.key
  }}
}}
"""


def resources(projects):
    return 3 + 5 * projects


class Emulator:
    def __init__(self, extra):
        self.proc = subprocess.Popen(
            [os.path.join(provider_dir, "ibmqr-emulator"), "--listen", "127.0.0.1:0", "--api-key", "bench-key", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.url = self.proc.stdout.readline().decode().strip()
        assert self.url.startswith("http://"), self.url
        self.admin("PUT", "/_emulator/objects/emulator_settings/user_management", {"invite_processing_ms": 0})

    def admin(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def counts(self):
        return self.admin("GET", "/_emulator/requests")

    def reset(self):
        self.admin("POST", "/_emulator/requests/reset")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class Workspace:
    def __init__(self, emulator, projects):
        self.dir = tempfile.mkdtemp(prefix="ibmqr-bench-")
        with open(os.path.join(self.dir, "terraformrc"), "w") as f:
            # dev_overrides: the bench measures the binaries in PROVIDER_DIR as they are, with no
            # `terraform init` (which Terraform says to skip with overrides, and 1.0.3 fails).
            f.write('provider_installation {\n  dev_overrides { "ibmqr/ibmqr" = "%s" }\n  direct {}\n}\n' % provider_dir)
        with open(os.path.join(self.dir, "main.tf"), "w") as f:
            f.write(config(projects))
        self.env = dict(os.environ, TF_CLI_CONFIG_FILE=os.path.join(self.dir, "terraformrc"), CHECKPOINT_DISABLE="1",
                        TF_IN_AUTOMATION="1", IC_API_KEY="bench-key", IBMQR_ENDPOINT=emulator.url)
        for k in ("TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_PATH"):
            self.env.pop(k, None)

    def run(self, args, ok=(0,), env=None, sampler=None):
        t0 = time.perf_counter()
        extra = [f"-parallelism={PARALLELISM}"]
        # Output goes to a file: a pipe nobody reads while the sampler runs would fill up and
        # stop Terraform (a 300-project refresh prints more than a pipe holds).
        with tempfile.TemporaryFile() as log:
            p = subprocess.Popen([terraform, *args, "-input=false", "-no-color", *extra], cwd=self.dir,
                                 env=dict(self.env, **(env or {})), stdout=log, stderr=subprocess.STDOUT)
            samples = sampler(p) if sampler else None
            p.wait()
            log.seek(0)
            out = log.read().decode(errors="replace")
        wall = time.perf_counter() - t0
        if p.returncode not in ok:
            sys.exit(f"terraform {' '.join(args)} failed ({p.returncode}):\n{out[-4000:]}")
        return wall, samples

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def descends_from(pid, ancestor):
    """Whether `pid` is `ancestor` or one of its descendants."""
    for _ in range(10):
        if pid == ancestor:
            return True
        if pid <= 1:
            return False
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return False
    return False


def provider_usage(proc):
    """Peak RSS (max over the provider processes) and CPU seconds (their sum) while `proc` runs,
    sampled from /proc every 10 ms (VmHWM is the kernel's own peak)."""
    tick = os.sysconf("SC_CLK_TCK")
    seen = {}
    while proc.poll() is None:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() != PROVIDER_COMM:
                        continue
                with open(f"/proc/{pid}/status") as f:
                    hwm = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                # Only providers started by this Terraform, not those of other runs on the machine.
                if not descends_from(int(fields[1]), proc.pid):
                    continue
                cpu = (int(fields[11]) + int(fields[12])) / tick
                seen[pid] = (hwm, cpu)
            except (OSError, StopIteration, IndexError, ValueError):
                pass
        time.sleep(0.01)
    peak_kb = max((h for h, _ in seen.values()), default=0)
    cpu = sum(c for _, c in seen.values())
    return peak_kb / 1024, cpu, len(seen)


def one_size(projects, latency_ms, measure_usage=False):
    """apply / refresh / destroy of one size against a fresh emulator."""
    emu = Emulator(["--latency-ms", str(latency_ms)] if latency_ms else [])
    ws = Workspace(emu, projects)
    out = {}
    try:
        for phase, args, ok in (("apply", ["apply", "-auto-approve"], (0,)),
                                ("refresh", ["plan", "-detailed-exitcode"], (0,)),
                                ("destroy", ["destroy", "-auto-approve"], (0,))):
            if phase == "destroy" and measure_usage:
                # The provider's RSS and CPU during a plan of the applied configuration.
                wall, usage = ws.run(["plan", "-detailed-exitcode"], sampler=provider_usage)
                out["usage"] = (*usage, wall)
            emu.reset()
            wall, _ = ws.run(args, ok=ok)
            c = emu.counts()
            token = c["counts"].get("POST /identity/token", 0)
            out[phase] = {"wall": wall, "requests": c["total"] - token, "tokens": token}
    finally:
        emu.stop()
        ws.remove()
    return out


def schema_calls_per_plan():
    emu = Emulator([])
    ws = Workspace(emu, 1)
    try:
        ws.run(["apply", "-auto-approve"])
        log = os.path.join(ws.dir, "plan.log")
        ws.run(["plan", "-detailed-exitcode"], env={"TF_LOG_PROVIDER": "debug", "TF_LOG_PATH": log})
        with open(log, errors="replace") as f:
            return f.read().count("GetProviderSchema: sending every schema")
    finally:
        emu.stop()
        ws.remove()


def rate_limited(projects):
    emu = Emulator(["--rate-limit", str(RATE_LIMIT), "--retry-after", "1"])
    ws = Workspace(emu, projects)
    try:
        wall, _ = ws.run(["apply", "-auto-approve"])
        log = emu.admin("GET", "/_emulator/traffic/log")["entries"]
        refused = sum(1 for e in log if e.get("status") == 429)
        return wall, refused, len(log)
    finally:
        emu.stop()
        ws.remove()


def main():
    version = subprocess.run([terraform, "version"], capture_output=True, text=True).stdout.splitlines()[0]
    rows = []
    usage = None
    for n in sizes:
        print(f"  ... {n} projects, no latency", file=sys.stderr, flush=True)
        zero = one_size(n, 0)
        print(f"  ... {n} projects, {LATENCY_MS} ms latency", file=sys.stderr, flush=True)
        lat = one_size(n, LATENCY_MS, measure_usage=(n == max(sizes)))
        usage = lat.get("usage", usage)
        rows.append((n, zero, lat))
    print("  ... GetProviderSchema calls", file=sys.stderr, flush=True)
    schema_calls = schema_calls_per_plan()
    rl = None
    if rate_limit_projects:
        print(f"  ... {rate_limit_projects} projects, rate limit {RATE_LIMIT}/s", file=sys.stderr, flush=True)
        rl = rate_limited(rate_limit_projects)

    print(f"\nOrganizations at scale: {version}, ibmqr-emulator, parallelism {PARALLELISM}, invitations processed at once")
    print("| projects | resources | phase | requests | per resource | token exchanges | wall @0 ms | wall @20 ms | floor | wall ÷ floor |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n, zero, lat in rows:
        res = resources(n)
        for phase in ("apply", "refresh", "destroy"):
            reqs = lat[phase]["requests"]
            floor = zero[phase]["wall"] + reqs * LATENCY_MS / 1000 / PARALLELISM
            print(f"| {n} | {res} | {phase} | {reqs} | {reqs / res:.2f} | {lat[phase]['tokens']} | {zero[phase]['wall']:.1f} s "
                  f"| {lat[phase]['wall']:.1f} s | {floor:.1f} s | {lat[phase]['wall'] / floor:.2f} |")
    print("\n| figure | measured | target |")
    print("|---|---|---|")
    worst_apply = max(lat["apply"]["requests"] / resources(n) for n, _, lat in rows)
    worst_refresh = max(lat["refresh"]["requests"] / resources(n) for n, _, lat in rows)
    print(f"| apply requests per resource (worst size) | {worst_apply:.2f} | ≤ 2.2 |")
    print(f"| refresh requests per resource (worst size) | {worst_refresh:.2f} | ≤ 1.02 |")
    big = [(n, zero, lat) for n, zero, lat in rows if n >= 100]
    for n, zero, lat in big:
        for phase in ("apply", "refresh", "destroy"):
            floor = zero[phase]["wall"] + lat[phase]["requests"] * LATENCY_MS / 1000 / PARALLELISM
            print(f"| wall ÷ floor, {n} projects, {phase} | {lat[phase]['wall'] / floor:.2f} | ≤ 1.3 |")
    if usage:
        n = max(sizes)
        peak_mb, cpu, procs, refresh_wall = usage
        print(f"| provider peak RSS, {n}-project plan @20 ms | {peak_mb:.1f} MB (max of {procs} processes) | ≤ 30 MB |")
        print(f"| provider CPU, {n}-project plan @20 ms | {cpu:.2f} s = {100 * cpu / refresh_wall:.1f} % of the plan's {refresh_wall:.1f} s | ≤ 10 % |")
    print(f"| GetProviderSchema calls per plan | {schema_calls} | 1 where Terraform caches (1.6+) |")
    if os.environ.get("BINARY_SIZE"):
        size = int(os.environ["BINARY_SIZE"])
        print(f"| release binary, stripped | {size / 1e6:.2f} MB ({size} bytes) | ≤ 8 MB |")
    if os.environ.get("HANDSHAKE_MS"):
        print(f"| exec to handshake (median) | {os.environ['HANDSHAKE_MS']} ms | — |")
    if rl:
        wall, refused, total = rl
        print(f"| {rate_limit_projects} projects, rate limit {RATE_LIMIT}/s per API: apply wall | {wall:.1f} s | — |")
        print(f"| … 429s received / requests | {refused} / {total} | — |")


if __name__ == "__main__":
    main()
