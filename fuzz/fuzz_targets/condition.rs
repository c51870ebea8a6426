//! The policy condition parser (`isOwner() && matchAnyTag('PII.Sensitive')`, ...): parse, then
//! validate the functions and their arguments.
#![no_main]

use ferrometa_catalog::policy::condition::Condition;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(condition) = Condition::parse(text) {
        let _ = condition.validate();
        let _ = condition.text();
    }
});
