//! Text → `parse::quote::strip_reply` → what the ingest step reads from what is left of a reply:
//! `parse::thanks::is_only_thanks`, the rating (`parse::rating`) and, on a conference request,
//! the event (`parse::event`). Any panic or an input slower than the timeout is a finding.

#![no_main]

use helpdesk::parse::{event, quote, rating, thanks};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let stripped = quote::strip_reply(text);
    let _ = thanks::is_only_thanks(&stripped.text);
    let _ = thanks::is_only_thanks(text);
    if rating::read(&stripped.text).is_some() {
        let _ = thanks::is_only_thanks(&rating::without(&stripped.text));
    }
    // A date: parsed, so the fuzz crate needs no jiff of its own.
    let today = "2026-12-06".parse().expect("a date");
    let read = event::read(text, today);
    let site = event::site(text, &["board room".to_owned()]);
    let _ = read.missing(&site);
    let _ = event::date(text, today);
    let json = read.to_json();
    assert_eq!(event::Event::from_json(&json).as_ref(), Some(&read));
});
