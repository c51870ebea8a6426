//! Fully qualified names: entity name validation, split, parent, ancestors and quoting.
#![no_main]

use ferrometa_catalog::fqn;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = fqn::EntityName::parse(text);
    let parts = fqn::split(text);
    let _ = (fqn::parent(text), fqn::ancestors(text), fqn::quote(text));
    let borrowed: Vec<&str> = parts.iter().map(String::as_str).collect();
    let rebuilt = fqn::build(&borrowed);
    let _ = fqn::split(&rebuilt);
});
