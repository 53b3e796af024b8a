//! Fuzzes the NMODL reader: any input gives a mechanism whose graphs record
//! at the checked step and temperature, or a typed error, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ruxley_channels::Channel;
use ruxley_nmodl::Nmodl;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = ruxley_nmodl::parse(&text);
    if let Ok(m) = Nmodl::from_source("fuzz.mod", &text) {
        let ir = m.ir(0.025, 6.3);
        assert_eq!(ir.params, m.params().len());
        assert_eq!(ir.states, m.states().len());
    }
});
