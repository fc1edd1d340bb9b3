//! The emulator's chaos mode driven as the chaos tests drive it: started by its flags, changed,
//! read and reset through the admin API. Only throttles here, a fault every client retries; the
//! other kinds are the chaos tests' subject.

use crate::harness::{member_role, Chaos, Emulator, FaultKind, Workspace};

/// With this seed the first request chaos applies to is throttled (rand's StdRng).
const SEED: u64 = 8;

fn count(counts: &serde_json::Value, pointer: &str) -> u64 {
    counts.pointer(pointer).and_then(serde_json::Value::as_u64).unwrap_or(0)
}

#[test]
fn a_role_applies_and_destroys_under_seeded_throttles() {
    let chaos = Chaos::new(SEED, 0.5).kinds(&[FaultKind::Throttle]).routes(&["POST /v2/roles"]);
    let emu = Emulator::start_with_chaos(&chaos, &[]);
    let ws = Workspace::new(&emu);
    ws.write(&member_role());
    ws.apply_ok();
    assert_eq!(emu.stored("roles").len(), 1, "one role, however many throttles");

    let counts = emu.chaos_counts();
    let throttled = count(&counts, "/by_route/POST ~1v2~1roles/throttle");
    assert!(throttled >= 1, "seed {SEED} throttles the first create: {counts}");
    assert_eq!((count(&counts, "/faults"), count(&counts, "/by_kind/throttle")), (throttled, throttled), "{counts}");
    assert_eq!(emu.request_count("POST /v2/roles"), throttled + 1, "each throttled create was sent again, once");
    emu.stop_chaos();
    ws.assert_no_changes();

    // The same seed on another route: its sequence starts afresh.
    emu.reset_chaos_counts();
    emu.set_chaos(&chaos.clone().routes(&["DELETE /v2/roles/{id}"]));
    ws.destroy_ok();
    assert!(emu.stored("roles").is_empty());
    let counts = emu.chaos_counts();
    let throttled = count(&counts, "/by_route/DELETE ~1v2~1roles~1{id}/throttle");
    assert!(throttled >= 1, "{counts}");
    assert_eq!(count(&counts, "/faults"), throttled, "only the listed route is faulted: {counts}");
    assert_eq!(emu.request_count("DELETE /v2/roles/{id}"), throttled + 1);
}
