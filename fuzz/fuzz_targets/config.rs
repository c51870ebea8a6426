//! Configuration loading: `${VAR:-default}` substitution and the whole load (YAML, env
//! overrides, coercion, validation). Input: the YAML text, then `\0`, then `NAME=value` lines.
#![no_main]

use std::collections::HashMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn scratch() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (yaml, vars) = text.split_once('\0').unwrap_or((text, ""));
    let env: HashMap<String, String> = vars.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let lookup = |k: &str| env.get(k).cloned();
    let _ = ferrometa_config::substitute(yaml, &lookup);
    let path = scratch().path().join("openmetadata.yaml");
    if std::fs::write(&path, yaml).is_ok() {
        let _ = ferrometa_config::load(Some(&path), &lookup);
    }
    let _ = ferrometa_config::load(None, &lookup);
});
