//! Fuzzes the Neurolucida reader: any input gives a tree of samples with
//! finite positions and non-negative radii, or a typed error, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ruxley_morph::{TraceOptions, parse_asc, trace};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(swc) = parse_asc(&text) else {
        return;
    };
    for s in swc.samples() {
        assert!(s.xyz.iter().all(|x| x.is_finite()), "{s:?}");
        assert!(s.radius.is_finite() && s.radius >= 0.0, "{s:?}");
    }
    let _ = trace(&swc, &TraceOptions::default());
});
