//! JSON Patch application as the catalog runs it (`engine::apply_patch`): input
//! `[document, patch]` (JSON). The stored document is never touched, whatever the patch.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(Value::Array(mut pair)) = serde_json::from_slice::<Value>(data) else { return };
    if pair.len() != 2 {
        return;
    }
    let ops = pair.pop().unwrap_or_default();
    let doc = pair.pop().unwrap_or_default();
    let Ok(patch) = serde_json::from_value::<json_patch::Patch>(ops) else { return };
    let before = doc.clone();
    let _ = ferrometa_catalog::engine::apply_patch(&doc, &patch);
    assert_eq!(doc, before, "the stored document must not change");
});
