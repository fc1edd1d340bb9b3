//! End-to-end tests: real Terraform drives the provider against a fresh emulator per test.

mod harness;

mod access_group;
mod access_group_members;
mod access_group_policy;
mod account_settings;
mod adoption;
mod appid;
mod chaos;
mod create_keeps_state;
mod custom_role;
mod data_sources;
mod docs;
mod dynamic_rule;
mod fault_injection;
mod generate_config;
mod grpc;
mod halfway;
mod identity;
mod identity_provider;
mod import_verify;
mod install;
mod instance;
mod interrupts;
mod migration;
mod modules;
mod mtls;
mod provider;
mod quickstart;
mod rate_limit;
mod request_budget;
mod resource_group;
mod schema_cache;
mod secrets;
mod user_invite;
