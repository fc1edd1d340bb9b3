//! IBM-like throttling: the emulator answers 429 with `Retry-After` past N requests per second per
//! API. The quickstart still applies, and no request goes to a throttled API before its time.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::harness::{state_resource_addresses, Emulator, Workspace};

/// A request that reaches an API before the time a 429 gave it, after the client had that 429.
/// Two checks, both from the log: on the connection that carried the 429 (whatever came next on
/// it was sent after the client read the 429), and on any connection, for requests arriving past
/// `in_flight_ms` after the 429 (earlier ones may have left before the 429 reached the client).
/// How long after a 429 a request that had already passed the gate may arrive on its connection.
const POOL_HANDOFF_MS: u64 = 50;

fn early_requests(log: &[serde_json::Value], in_flight_ms: u64) -> Vec<String> {
    let mut early = Vec::new();
    // Per (api, connection), and per api: the latest closing time a 429 gave, with its time.
    let mut closed_on_conn: HashMap<(String, String), (u64, u64)> = HashMap::new();
    let mut closed: HashMap<String, (u64, u64)> = HashMap::new();
    for entry in log {
        let api = entry["api"].as_str().unwrap_or_default().to_string();
        let conn = entry["conn"].as_str().unwrap_or_default().to_string();
        let at = entry["at_ms"].as_u64().expect("at_ms");
        // A request that passed the gate before the 429 reached the client may still take the
        // 429's connection from the pool as it is freed: it arrives within a few milliseconds.
        if closed_on_conn
            .get(&(api.clone(), conn.clone()))
            .is_some_and(|(refused_at, until)| at >= refused_at + POOL_HANDOFF_MS && at < *until)
        {
            early.push(format!("{entry} (same connection as a 429 at {})", closed_on_conn[&(api.clone(), conn.clone())].0));
        } else if closed.get(&api).is_some_and(|(refused_at, until)| at >= refused_at + in_flight_ms && at < *until) {
            early.push(format!("{entry} (after a 429 to the same API)"));
        }
        if let Some(until) = entry["closed_until_ms"].as_u64() {
            closed_on_conn.insert((api.clone(), conn), (at, until));
            if closed.get(&api).is_none_or(|(_, u)| *u < until) {
                closed.insert(api, (at, until));
            }
        }
    }
    early
}

#[test]
fn quickstart_applies_under_a_rate_limit_without_early_requests() {
    let emu = Emulator::start_with(&["--rate-limit", "4", "--retry-after", "1"]);
    let ws = Workspace::new(&emu);
    ws.copy_config_from(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart"));
    ws.apply_ok();
    assert_eq!(state_resource_addresses(&ws.state_json()).len(), 19, "the quickstart's resources are all applied");

    let log = emu.traffic_log();
    let refused = log.iter().filter(|e| e["status"] == 429).count();
    assert!(refused > 0, "the rate limit was never reached, so the test shows nothing: {} requests", log.len());
    let early = early_requests(&log, 300);
    assert!(early.is_empty(), "{} of {} requests came before their Retry-After:\n{}", early.len(), log.len(), early.join("\n"));
    eprintln!("rate-limited quickstart apply: {} requests, {refused} answered 429", log.len());
}

#[test]
fn the_check_finds_an_early_request() {
    let entry = |at: u64, conn: &str, until: Option<u64>| {
        let mut e = serde_json::json!({"at_ms": at, "api": "iam", "conn": conn, "status": "served"});
        if let Some(u) = until {
            e["status"] = 429.into();
            e["closed_until_ms"] = u.into();
        }
        e
    };
    let ok = [entry(0, "a", Some(1000)), entry(10, "b", None), entry(1000, "a", None)];
    assert!(early_requests(&ok, 300).is_empty());
    assert!(early_requests(&[entry(0, "a", Some(1000)), entry(20, "a", None)], 300).is_empty(), "a pool handoff");
    assert_eq!(early_requests(&[entry(0, "a", Some(1000)), entry(60, "a", None)], 300).len(), 1);
    assert_eq!(early_requests(&[entry(0, "a", Some(1000)), entry(400, "b", None)], 300).len(), 1);
}
