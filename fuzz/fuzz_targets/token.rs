//! The bearer token front end: size, compact form, header and claims parsing, key lookup and
//! signature check of `Verifier::verify` (own keys only: no network), and claims parsing alone.
#![no_main]

use std::sync::{Arc, OnceLock};

use ferrometa_auth::claims::Claims;
use ferrometa_auth::keys::KeyDir;
use ferrometa_auth::verify::Verifier;
use libfuzzer_sys::fuzz_target;

struct Fixture {
    verifier: Verifier,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let keys = Arc::new(KeyDir::new(dir.path()).load_or_generate().expect("keys"));
        let config = ferrometa_config::Config::defaults();
        let verifier = Verifier::new(&config.authentication, keys, "open-metadata.org");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        Fixture { verifier, runtime, _dir: dir }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    for segment in token.split('.') {
        if let Some(claims) = Claims::parse_segment(segment) {
            let _ = (claims.numeric_date("exp"), claims.string_list("cognito:groups"), claims.flag("email_verified"), claims.as_text("sub"));
        }
    }
    let f = fixture();
    let _ = f.runtime.block_on(f.verifier.verify(token));
});
