//! Text → `parse::authres::parse` (an `Authentication-Results` value). Every verdict it returns
//! is lower-cased, as the technician check compares them so. Any panic or an input slower than the
//! timeout is a finding.

#![no_main]

use helpdesk::parse::authres;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|value: &str| {
    for r in authres::parse(value) {
        assert_eq!(r.authserv_id, r.authserv_id.to_ascii_lowercase());
        assert_eq!(r.result, r.result.to_ascii_lowercase());
    }
});
