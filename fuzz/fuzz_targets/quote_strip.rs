//! Text → `parse::quote::strip_reply` → `parse::thanks::is_only_thanks` on what is left, as the
//! ingest step runs them on a reply. Any panic or an input slower than the timeout is a finding.

#![no_main]

use helpdesk::parse::{quote, thanks};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let stripped = quote::strip_reply(text);
    let _ = thanks::is_only_thanks(&stripped.text);
    let _ = thanks::is_only_thanks(text);
});
