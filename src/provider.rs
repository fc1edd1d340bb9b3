//! The `provider "ibmqr"` block: credentials, region, retry limits and endpoint overrides.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::configured::ProviderState;
use crate::framework::{
    AnyDataSource, AnyListResource, AnyResource, Attribute, AttributePath, Block, Check, Diagnostics, NestedBlock, OpError, OpResult,
    Provider, Schema, Value,
};
use crate::ibmcloud::{ApiKey, Client, ClientConfig, Endpoints, DEFAULT_MAX_RETRIES, DEFAULT_REQUEST_TIMEOUT};
use crate::plan_checks::QISKIT_REGIONS;
use crate::{data_sources, resources};

/// Endpoint keys of the `endpoints` block, one per IBM API.
pub const ENDPOINT_KEYS: [&str; 9] = [
    "iam",
    "iam_policy",
    "resource_controller",
    "resource_manager",
    "user_management",
    "global_catalog",
    "tagging",
    "appid",
    "account_management",
];

/// IBM Cloud multizone regions a provider `region` may name.
pub const REGIONS: [&str; 11] =
    ["us-south", "us-east", "ca-tor", "br-sao", "eu-gb", "eu-de", "eu-es", "jp-tok", "jp-osa", "au-syd", "in-che"];

const DEFAULT_REGION: &str = "us-east";
/// The name the docs give the provider.
pub const PROVIDER_NAME: &str = "ibmqr";
/// The values `max_retries` and `request_timeout_seconds` may take.
const MAX_RETRIES: std::ops::RangeInclusive<i64> = 0..=100;
const REQUEST_TIMEOUT_SECONDS: std::ops::RangeInclusive<i64> = 1..=3600;
/// The values `max_requests_per_second` may take.
const MAX_REQUESTS_PER_SECOND: std::ops::RangeInclusive<i64> = 1..=10_000;

#[derive(Default)]
pub struct IbmqrProvider;

#[derive(serde::Deserialize, Default)]
struct ProviderModel {
    api_key: Option<String>,
    account_id: Option<String>,
    region: Option<String>,
    max_retries: Option<i64>,
    request_timeout_seconds: Option<i64>,
    max_requests_per_second: Option<i64>,
    #[serde(default)]
    endpoints: Vec<BTreeMap<String, Option<String>>>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[async_trait]
impl Provider for IbmqrProvider {
    type State = ProviderState;

    fn schema(&self) -> Schema {
        let mut endpoints = Block::new("Overrides of IBM Cloud API base URLs, for private endpoints or a local emulator.");
        for key in ENDPOINT_KEYS {
            endpoints = endpoints.attr(Attribute::string(key).optional().describe(&format!("Base URL of the {key} API.")));
        }
        Schema::new(
            0,
            Block::new("Sets up IBM Cloud for Qiskit Runtime organizations.")
                .attr(
                    Attribute::string("api_key")
                        .optional()
                        .sensitive()
                        .describe("IBM Cloud API key. Defaults to the `IC_API_KEY`, then `IBMCLOUD_API_KEY` environment variable."),
                )
                .attr(
                    Attribute::string("account_id")
                        .optional()
                        .describe("Account to manage. Defaults to the account of the API key (the token's `account.bss` claim)."),
                )
                .attr(Attribute::string("region").optional().describe(&format!(
                    "Default region of regional resources. Defaults to `IC_REGION`, then `IBMCLOUD_REGION`, then `{DEFAULT_REGION}`."
                )))
                .attr(
                    Attribute::number("max_retries")
                        .optional()
                        .check(Check::whole_number(*MAX_RETRIES.start(), *MAX_RETRIES.end()))
                        .describe(&format!(
                            "Retries of a failed API request (429, 5xx, connection errors). Default {DEFAULT_MAX_RETRIES}."
                        )),
                )
                .attr(
                    Attribute::number("request_timeout_seconds")
                        .optional()
                        .check(Check::whole_number(*REQUEST_TIMEOUT_SECONDS.start(), *REQUEST_TIMEOUT_SECONDS.end()))
                        .describe(&format!("Time limit of one API request. Default {}.", DEFAULT_REQUEST_TIMEOUT.as_secs())),
                )
                .attr(
                    Attribute::number("max_requests_per_second")
                        .optional()
                        .check(Check::whole_number(*MAX_REQUESTS_PER_SECOND.start(), *MAX_REQUESTS_PER_SECOND.end()))
                        .describe(
                            "Caps the requests per second this provider sends to each IBM Cloud API (each `endpoints` key, per region for regional APIs). Default: no cap, since IBM documents no limit for most of these APIs (App ID documents its own). IBM's limits apply per user, across every process that uses the API key, so leave room for other runs with the same key. Whatever the cap, a 429 (or a 503 with `Retry-After`) holds every request to that API until the time IBM gave; that wait is not a retry and does not count against `request_timeout_seconds`.",
                        ),
                )
                .block(NestedBlock::list("endpoints", endpoints).max_items(1)),
        )
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        // Not a declared one-of: the error also names the regions Qiskit Runtime runs in.
        let mut diags = Diagnostics::new();
        if let Some(Value::String(region)) = config.get("region") {
            check_region(region, &mut diags);
        }
        diags
    }

    async fn configure(&self, config: &Value, cancel: CancellationToken) -> OpResult<ProviderState> {
        let model: ProviderModel = crate::framework::from_value(config)?;
        let api_key = model.api_key.filter(|k| !k.trim().is_empty()).or_else(|| env("IC_API_KEY")).or_else(|| env("IBMCLOUD_API_KEY"));
        let Some(api_key) = api_key else {
            return Err(OpError::at(
                AttributePath::attr("api_key"),
                "No IBM Cloud API key",
                "Set api_key in the provider \"ibmqr\" block, or the IC_API_KEY (or IBMCLOUD_API_KEY) environment variable.",
            ));
        };
        let region =
            model.region.or_else(|| env("IC_REGION")).or_else(|| env("IBMCLOUD_REGION")).unwrap_or_else(|| DEFAULT_REGION.to_string());
        let mut diags = Diagnostics::new();
        check_region(&region, &mut diags);
        if diags.has_errors() {
            return Err(diags.into());
        }
        let overrides: BTreeMap<String, String> = model
            .endpoints
            .into_iter()
            .next()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| v.filter(|v| !v.trim().is_empty()).map(|v| (k, v)))
            .collect();
        let endpoints = Endpoints::resolve(&overrides, &|name| env(name), &region)
            .map_err(|e| OpError::at(AttributePath::attr("endpoints"), "Invalid endpoint", e.to_string()))?;
        let mut client_config = ClientConfig::new(ApiKey::new(api_key), endpoints);
        client_config.account_id = model.account_id.filter(|a| !a.is_empty());
        if let Some(n) = model.max_retries {
            client_config.max_retries = n.clamp(*MAX_RETRIES.start(), *MAX_RETRIES.end()) as u32;
        }
        if let Some(n) = model.request_timeout_seconds {
            client_config.request_timeout =
                Duration::from_secs(n.clamp(*REQUEST_TIMEOUT_SECONDS.start(), *REQUEST_TIMEOUT_SECONDS.end()) as u64);
        }
        client_config.max_requests_per_second =
            model.max_requests_per_second.map(|n| n.clamp(*MAX_REQUESTS_PER_SECOND.start(), *MAX_REQUESTS_PER_SECOND.end()) as f64);
        let client = Client::new(client_config, cancel).map_err(|e| OpError::new("Cannot set up the IBM Cloud client", e.to_string()))?;
        Ok(ProviderState::new(client, region))
    }

    fn resources(&self) -> Vec<Arc<dyn AnyResource<ProviderState>>> {
        resources::all()
    }

    fn data_sources(&self) -> Vec<Arc<dyn AnyDataSource<ProviderState>>> {
        data_sources::all()
    }

    fn list_resources(&self) -> Vec<Arc<dyn AnyListResource<ProviderState>>> {
        resources::listable()
    }
}

fn check_region(region: &str, diags: &mut Diagnostics) {
    if !REGIONS.contains(&region) {
        diags.add_attr_error(
            AttributePath::attr("region"),
            "Unknown region",
            format!(
                "{region:?} is not an IBM Cloud region; use one of {}. Qiskit Runtime runs in {}.",
                REGIONS.join(", "),
                QISKIT_REGIONS.join(" and ")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoints_block_has_a_key_for_every_api() {
        let keys: Vec<&str> = crate::ibmcloud::Api::ALL.iter().map(|api| api.key()).collect();
        assert_eq!(keys, ENDPOINT_KEYS);
    }

    fn validate(json: serde_json::Value) -> Vec<String> {
        let schema = IbmqrProvider.schema();
        let config = Value::from_json(&json, &schema.value_type()).expect("config");
        let mut diags = crate::framework::validate::validate_block(&schema.block, &config);
        diags.extend(IbmqrProvider.validate(&config));
        diags.0.iter().filter_map(|d| d.path.as_ref().map(ToString::to_string)).collect()
    }

    #[test]
    fn retry_and_timeout_limits_are_whole_numbers_in_range() {
        assert!(validate(serde_json::json!({"max_retries": 0, "request_timeout_seconds": 3600})).is_empty());
        assert!(validate(serde_json::json!({"max_retries": 100, "request_timeout_seconds": 1})).is_empty());
        assert_eq!(validate(serde_json::json!({"max_retries": 101})), vec!["max_retries"]);
        assert_eq!(validate(serde_json::json!({"max_retries": 2.5})), vec!["max_retries"]);
        assert_eq!(validate(serde_json::json!({"max_retries": -1})), vec!["max_retries"]);
        assert_eq!(validate(serde_json::json!({"request_timeout_seconds": 0})), vec!["request_timeout_seconds"]);
        assert_eq!(validate(serde_json::json!({"request_timeout_seconds": 0.5})), vec!["request_timeout_seconds"]);
        assert!(validate(serde_json::json!({"max_requests_per_second": 40})).is_empty());
        assert_eq!(validate(serde_json::json!({"max_requests_per_second": 0})), vec!["max_requests_per_second"]);
        assert_eq!(validate(serde_json::json!({"max_requests_per_second": 1.5})), vec!["max_requests_per_second"]);
    }

    #[test]
    fn descriptions_name_the_client_defaults() {
        let schema = IbmqrProvider.schema();
        let described = |name: &str| schema.block.attributes.iter().find(|a| a.name == name).expect(name).description.clone();
        assert!(described("max_retries").ends_with(&format!("Default {DEFAULT_MAX_RETRIES}.")));
        assert!(described("request_timeout_seconds").ends_with(&format!("Default {}.", DEFAULT_REQUEST_TIMEOUT.as_secs())));
    }
}
