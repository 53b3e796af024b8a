//! Fuzzes the SWC reader, tracing and compartmentalisation: any input gives a
//! morphology with finite, positive geometry or a typed error, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ruxley_morph::{Ncomp, SwcOptions, TraceOptions, parse_swc, trace};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(swc) = parse_swc(&text, &SwcOptions::default()) else {
        return;
    };
    for options in [
        TraceOptions::default(),
        TraceOptions { max_branch_len: Some(7.5), min_radius: Some(0.1), ..TraceOptions::default() },
        TraceOptions { relevant_types: vec![], ..TraceOptions::default() },
    ] {
        let Ok(morph) = trace(&swc, &options) else {
            continue;
        };
        for ncomp in [Ncomp::Uniform(1), Ncomp::Uniform(3)] {
            let Ok(branches) = morph.discretize(&ncomp) else {
                continue;
            };
            for (b, branch) in branches.iter().enumerate() {
                assert!(branch.parent.is_none_or(|p| p < b));
                for c in &branch.comps {
                    for x in [c.area, c.length, c.radius, c.load_in, c.load_out, c.volume] {
                        assert!(x.is_finite() && x > 0.0, "{c:?}");
                    }
                }
            }
        }
    }
});
