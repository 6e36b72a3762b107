//! TOML text → `Rules::from_toml` (the loader in `src/classify/load.rs`); rules that load are
//! queried as the daemon would. Any panic or an input slower than the timeout is a finding.

#![no_main]

use helpdesk::classify::Rules;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(rules) = Rules::from_toml("fuzz", text) else {
        return;
    };
    let _ = rules.templates().count();
    let _ = rules.teams();
    for c in rules.categories() {
        assert!(rules.category(&c.id).is_some());
    }
});
