//! Invariants of tracing and compartmentalisation on random SWC trees.

use proptest::prelude::*;
use ruxley_morph::{Ncomp, SwcOptions, TraceOptions, parse_swc, trace};

/// A random tree: sample k > 0 hangs off an earlier sample, with a random
/// offset, radius and type (soma for sample 0, or a neurite type).
fn tree() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            0.0f64..1.0,
            -20.0f64..20.0,
            -20.0f64..20.0,
            0.2f64..3.0,
            2i32..5,
        ),
        1..40,
    )
    .prop_map(|rows| {
        let mut text = String::from("1 1 0 0 0 5 -1\n");
        let mut pos = vec![[0.0, 0.0]];
        for (k, (p, dx, dy, r, kind)) in rows.iter().enumerate() {
            let parent = ((p * (k + 1) as f64) as usize).min(k);
            let xy = [pos[parent][0] + dx, pos[parent][1] + dy];
            pos.push(xy);
            text.push_str(&format!(
                "{} {kind} {} {} 0 {r} {}\n",
                k + 2,
                xy[0],
                xy[1],
                parent + 1
            ));
        }
        text
    })
}

proptest! {
    #[test]
    fn area_volume_and_axial_load_do_not_depend_on_ncomp(text in tree(), n in 2usize..7) {
        let swc = parse_swc(&text, &SwcOptions::default()).unwrap();
        let morph = trace(&swc, &TraceOptions::default()).unwrap();
        let one = morph.discretize(&Ncomp::Uniform(1)).unwrap();
        let many = morph.discretize(&Ncomp::Uniform(n)).unwrap();
        prop_assert_eq!(one.len(), many.len());
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs());
        for (b1, bn) in one.iter().zip(&many) {
            prop_assert_eq!(b1.parent, bn.parent);
            prop_assert_eq!(bn.comps.len(), n);
            let sum = |comps: &[ruxley_morph::CompartmentGeometry], f: fn(&ruxley_morph::CompartmentGeometry) -> f64| {
                comps.iter().map(f).sum::<f64>()
            };
            // Single-point branches (a sphere split n ways) keep area and volume too.
            prop_assert!(close(sum(&b1.comps, |c| c.area), sum(&bn.comps, |c| c.area)));
            prop_assert!(close(sum(&b1.comps, |c| c.volume), sum(&bn.comps, |c| c.volume)));
            prop_assert!(close(sum(&b1.comps, |c| c.length), sum(&bn.comps, |c| c.length)));
            let load = |comps: &[ruxley_morph::CompartmentGeometry]| sum(comps, |c| c.load_in + c.load_out);
            prop_assert!(close(load(&b1.comps), load(&bn.comps)));
        }
    }

    #[test]
    fn parents_precede_children_and_every_sample_is_covered(text in tree(), max_len in 5.0f64..50.0) {
        let swc = parse_swc(&text, &SwcOptions::default()).unwrap();
        let options = TraceOptions { max_branch_len: Some(max_len), ..TraceOptions::default() };
        let morph = trace(&swc, &options).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for (b, branch) in morph.branches.iter().enumerate() {
            prop_assert!(branch.parent.is_none_or(|p| p < b));
            prop_assert!(b == 0 || branch.parent.is_some());
            seen.extend(branch.sample_ids.iter().copied());
        }
        prop_assert_eq!(seen.len(), swc.samples().len());
    }
}
