//! `ibmqr-emulator`: local emulator of the IBM Cloud APIs used by the ibmqr provider.
//!
//! Prints its base URL as the first stdout line, then serves until SIGINT/SIGTERM.
//! Logs go to stderr. See `docs/emulator.md`.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use terraform_provider_ibmqr::emulator::faults::{self, ChaosSettings, FaultKind};
use terraform_provider_ibmqr::emulator::{self, EmulatorConfig};

#[derive(Parser, Debug)]
#[command(name = "ibmqr-emulator", about = "Local emulator of the IBM Cloud APIs used by the ibmqr provider")]
struct Cli {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// JSON file holding the emulated objects; loaded at start, rewritten after every change.
    #[arg(long = "state")]
    state: Option<PathBuf>,
    /// Accepted API key (repeatable). Without any, every non-empty key is accepted.
    #[arg(long = "api-key")]
    api_keys: Vec<String>,
    /// Account id put in tokens (32 hex digits).
    #[arg(long, default_value = emulator::DEFAULT_ACCOUNT_ID)]
    account_id: String,
    /// Access token lifetime in seconds.
    #[arg(long = "token-lifetime", default_value_t = emulator::DEFAULT_TOKEN_LIFETIME_SECS)]
    token_lifetime: u64,
    /// Initial consistency lag in milliseconds (newly created objects stay invisible that long).
    #[arg(long = "lag-ms", default_value_t = 0)]
    lag_ms: u64,
    /// How long a reclaimed instance stays being reclaimed (reclamation `RECLAIMING`), in milliseconds.
    #[arg(long = "reclaim-ms", default_value_t = emulator::DEFAULT_RECLAIM_MS)]
    reclaim_ms: u64,
    /// Latency added to every request, in milliseconds (benchmarks).
    #[arg(long = "latency-ms", default_value_t = 0)]
    latency_ms: u64,
    /// A further random latency per request, uniform in 0..=N milliseconds.
    #[arg(long = "jitter-ms", default_value_t = 0)]
    jitter_ms: u64,
    /// Rate-limit mode: past N requests per second to one API, answer 429 with Retry-After.
    #[arg(long = "rate-limit")]
    rate_limit: Option<u32>,
    /// The Retry-After (seconds) of rate-limit 429s.
    #[arg(long = "retry-after", default_value_t = 1)]
    retry_after: u64,
    /// Chaos mode: this fraction (0-1) of requests to the IBM routes gets a random fault.
    #[arg(long = "chaos-fraction")]
    chaos_fraction: Option<f64>,
    /// The chaos seed; the same seed and the same requests give the same faults. Default: random
    /// (printed to stderr, and shown by GET /_emulator/chaos).
    #[arg(long = "chaos-seed", requires = "chaos_fraction")]
    chaos_seed: Option<u64>,
    /// The fault kinds and their weights, e.g. `throttle,reset_after=2`. Default: all, weight 1.
    #[arg(long = "chaos-kinds", requires = "chaos_fraction", value_parser = faults::parse_kinds_flag)]
    chaos_kinds: Option<BTreeMap<FaultKind, f64>>,
    /// A route key chaos applies to, e.g. "POST /v2/groups" (repeatable). Default: every IBM route.
    #[arg(long = "chaos-route", requires = "chaos_fraction")]
    chaos_routes: Vec<String>,
    /// Let chaos hit the token route (POST /identity/token) too.
    #[arg(long = "chaos-include-token-route", requires = "chaos_fraction")]
    chaos_include_token_route: bool,
    /// The Retry-After (seconds) of chaos throttles and, with --chaos-503-retry-after, 503s.
    #[arg(long = "chaos-retry-after", requires = "chaos_fraction", default_value_t = faults::DEFAULT_CHAOS_RETRY_AFTER_SECONDS)]
    chaos_retry_after: u64,
    /// Chaos 503s carry Retry-After too.
    #[arg(long = "chaos-503-retry-after", requires = "chaos_fraction")]
    chaos_503_retry_after: bool,
    /// How long a chaos stall holds a request before acting on it, in milliseconds.
    #[arg(long = "chaos-stall-ms", requires = "chaos_fraction", default_value_t = faults::DEFAULT_STALL_MS)]
    chaos_stall_ms: u64,
    /// Log every request to stderr (otherwise only warnings and errors).
    #[arg(long, short)]
    verbose: bool,
}

/// Minimal stderr logger: stdout is reserved for the base URL line.
struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("ibmqr-emulator {} {}", record.level(), record.args());
        }
    }
    fn flush(&self) {}
}

static LOGGER: StderrLogger = StderrLogger;

impl Cli {
    /// The chaos settings the flags ask for; `None` without `--chaos-fraction`.
    fn chaos(&self) -> Result<Option<ChaosSettings>, String> {
        let Some(fraction) = self.chaos_fraction else { return Ok(None) };
        let mut settings = ChaosSettings::new(self.chaos_seed.unwrap_or_else(rand::random), fraction);
        if let Some(kinds) = &self.chaos_kinds {
            settings.kinds = kinds.clone();
        }
        if !self.chaos_routes.is_empty() {
            settings.routes = Some(self.chaos_routes.clone());
        }
        settings.include_token_route = self.chaos_include_token_route;
        settings.retry_after_seconds = self.chaos_retry_after;
        settings.error503_retry_after = self.chaos_503_retry_after;
        settings.stall_ms = self.chaos_stall_ms;
        settings.validated().map(Some)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cli = Cli::parse();
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(if cli.verbose { log::LevelFilter::Info } else { log::LevelFilter::Warn });
    }
    let chaos = match cli.chaos() {
        Ok(chaos) => chaos,
        Err(err) => {
            eprintln!("ibmqr-emulator: chaos: {err}");
            std::process::exit(2);
        }
    };
    let config = EmulatorConfig {
        listen: cli.listen,
        state_file: cli.state,
        api_keys: cli.api_keys,
        account_id: cli.account_id,
        token_lifetime_secs: cli.token_lifetime,
        lag_ms: cli.lag_ms,
        reclaim_ms: cli.reclaim_ms,
        traffic: emulator::traffic::TrafficSettings {
            latency_ms: cli.latency_ms,
            jitter_ms: cli.jitter_ms,
            rate_limit_per_second: cli.rate_limit.filter(|n| *n > 0),
            retry_after_seconds: cli.retry_after,
        },
        chaos: chaos.clone(),
    };
    let running = match emulator::start(config).await {
        Ok(running) => running,
        Err(err) => {
            eprintln!("ibmqr-emulator: cannot start: {err}");
            std::process::exit(1);
        }
    };
    let mut stdout = std::io::stdout();
    // Harnesses read this first line to learn the port; flush so they are not left waiting.
    if writeln!(stdout, "{}", running.base_url).and_then(|()| stdout.flush()).is_err() {
        eprintln!("ibmqr-emulator: cannot write the base URL to stdout");
    }
    eprintln!("ibmqr-emulator listening on {}", running.base_url);
    if let Some(chaos) = &chaos {
        // The seed is what repeats a failing run, so it is printed whatever the log level.
        eprintln!("ibmqr-emulator chaos on: seed {}, fraction {}", chaos.seed, chaos.fraction);
    }

    wait_for_termination().await;
    eprintln!("ibmqr-emulator shutting down");
    // In-flight requests may finish, but a stuck client must not keep the process alive.
    match tokio::time::timeout(std::time::Duration::from_secs(5), running.shutdown()).await {
        Ok(Ok(())) | Err(_) => {}
        Ok(Err(err)) => {
            eprintln!("ibmqr-emulator: server error: {err}");
            std::process::exit(1);
        }
    }
}

async fn wait_for_termination() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
