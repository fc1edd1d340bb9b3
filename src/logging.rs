//! Log lines in hclog's JSON form on stderr, so Terraform keeps their level and
//! `TF_LOG` / `TF_LOG_PROVIDER` filter them. Never log secrets: callers log paths and statuses, and
//! bodies only at trace level through `ibmcloud::redact`.

use std::io::Write;

struct HclogJson {
    level: log::LevelFilter,
}

impl log::Log for HclogJson {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= self.level
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            log::Level::Error => "error",
            log::Level::Warn => "warn",
            log::Level::Info => "info",
            log::Level::Debug => "debug",
            log::Level::Trace => "trace",
        };
        let timestamp = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let line = serde_json::json!({
            "@level": level,
            "@message": record.args().to_string(),
            "@module": format!("ibmqr.{}", record.module_path().unwrap_or("").trim_start_matches("terraform_provider_ibmqr::")),
            "@timestamp": timestamp,
        });
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{line}");
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}

/// The level Terraform asked for (TF_LOG_PROVIDER, then TF_LOG); warnings and errors otherwise.
fn level_from_env() -> log::LevelFilter {
    let wanted = std::env::var("TF_LOG_PROVIDER").or_else(|_| std::env::var("TF_LOG")).unwrap_or_default();
    match wanted.trim().to_ascii_lowercase().as_str() {
        "trace" | "json" => log::LevelFilter::Trace,
        "debug" => log::LevelFilter::Debug,
        "info" => log::LevelFilter::Info,
        "error" => log::LevelFilter::Error,
        "off" => log::LevelFilter::Off,
        _ => log::LevelFilter::Warn,
    }
}

/// Installs the logger (once; later calls do nothing).
pub fn init() {
    let level = level_from_env();
    if log::set_boxed_logger(Box::new(HclogJson { level })).is_ok() {
        log::set_max_level(level);
    }
    // Panics are caught per RPC; this makes the message a log line instead of raw stderr text.
    std::panic::set_hook(Box::new(|info| {
        log::error!("panic: {info}");
    }));
}
