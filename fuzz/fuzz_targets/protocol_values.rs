#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| terraform_provider_ibmqr::fuzzing::protocol_values(data));
