//! The published JSON schema of reports (`docs/report.schema.json`), for tests that check what
//! the commands write against it.

// Not every test binary that includes the support modules validates JSON.
#![allow(dead_code)]

const SCHEMA_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/report.schema.json");

/// A validator for the published schema.
pub fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(SCHEMA_PATH).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("the schema itself is valid")
}

/// Fails with every violation and where it is when `value` does not follow the schema.
pub fn assert_valid(validator: &jsonschema::Validator, value: &serde_json::Value) {
    let errors: Vec<String> =
        validator.iter_errors(value).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "schema violations: {errors:#?}");
}
