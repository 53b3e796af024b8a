//! The Neurolucida reader on the BluePyOpt L5PC original (C060114A7.asc)
//! against its MorphIO conversion, the SWC file Jaxley ships
//! (morph_l5pc_with_axon.swc): the same neurite points, radii, types and
//! tree, read independently.

use std::path::Path;

use ruxley_morph::{Swc, SwcOptions, read_asc, read_swc};

fn data(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/morphologies")
        .join(path)
}

/// The largest coordinate and radius differences (um) between the neurite
/// points of `asc` and those of MorphIO's `swc`, or why their trees differ.
fn neurite_difference(asc: &Swc, swc: &Swc) -> Result<(f64, f64), String> {
    let s = swc.samples();
    let n = s.len();
    let mut children = vec![0usize; n];
    for k in 0..n {
        if let Some(p) = swc.parent_of(k) {
            children[p] += 1;
        }
    }
    // MorphIO starts every branch of a fork with a copy of the fork point
    // (with the branch's radius); the file format has no such point. Map
    // each kept SWC point to its position among the kept ones.
    let neurite = |k: usize| s[k].kind != 1;
    let copy = |k: usize| {
        swc.parent_of(k)
            .is_some_and(|p| neurite(p) && children[p] > 1 && s[p].xyz == s[k].xyz)
    };
    let kept: Vec<usize> = (0..n).filter(|&k| neurite(k) && !copy(k)).collect();
    let mut position = vec![None; n];
    for (i, &k) in kept.iter().enumerate() {
        position[k] = Some(i);
    }
    // The kept parent of a kept point: through a copy to the fork point.
    let kept_parent = |k: usize| {
        let mut p = swc.parent_of(k)?;
        if copy(p) {
            p = swc.parent_of(p)?;
        }
        position[p]
    };
    let a = asc.samples();
    let ours: Vec<usize> = (0..a.len()).filter(|&k| a[k].kind != 1).collect();
    let mut our_position = vec![None; a.len()];
    for (i, &k) in ours.iter().enumerate() {
        our_position[k] = Some(i);
    }
    if ours.len() != kept.len() {
        return Err(format!("{} neurite points vs {}", ours.len(), kept.len()));
    }
    let (mut worst_xyz, mut worst_r): (f64, f64) = (0.0, 0.0);
    for (i, (&o, &k)) in ours.iter().zip(&kept).enumerate() {
        let at = format!("point {i} (asc line {})", a[o].line);
        if a[o].kind != s[k].kind {
            return Err(format!("{at}: type {} vs {}", a[o].kind, s[k].kind));
        }
        let our_parent = asc.parent_of(o).and_then(|p| our_position[p]);
        if our_parent != kept_parent(k) {
            return Err(format!(
                "{at}: parent {our_parent:?} vs {:?}",
                kept_parent(k)
            ));
        }
        for j in 0..3 {
            worst_xyz = nan_max(worst_xyz, (a[o].xyz[j] - s[k].xyz[j]).abs());
        }
        worst_r = nan_max(worst_r, (a[o].radius - s[k].radius).abs());
    }
    Ok((worst_xyz, worst_r))
}

/// The larger of two values; NaN if either is.
fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

#[test]
fn the_l5pc_original_gives_the_neurites_of_its_swc_conversion() {
    let asc = read_asc(data("bluepyopt/examples_l5pc_morphology/C060114A7.asc")).unwrap();
    let swc = read_swc(
        data("jaxley/tests_swc_files/morph_l5pc_with_axon.swc"),
        &SwcOptions::default(),
    )
    .unwrap();
    let (xyz, r) = neurite_difference(&asc, &swc).unwrap();
    // The SWC holds the .asc's 2-decimal values as float32: measured
    // 5.9e-5 um and 5.7e-8 um.
    assert!(xyz <= 6e-4, "coordinates differ by {xyz} um");
    assert!(r <= 6e-7, "radii differ by {r} um");

    // The comparison sees a moved point, a changed radius, a re-attached
    // branch and a NaN.
    let changed = |f: &dyn Fn(&mut Vec<ruxley_morph::SwcSample>)| {
        let mut samples = asc.samples().to_vec();
        f(&mut samples);
        neurite_difference(&Swc::from_samples(samples).unwrap(), &swc)
    };
    assert!(changed(&|s| s[500].xyz[1] += 1e-3).unwrap().0 > 6e-4);
    assert!(changed(&|s| s[900].radius *= 1.01).unwrap().1 > 6e-7);
    assert!(changed(&|s| s[900].radius = f64::NAN).unwrap().1.is_nan());
    let e = changed(&|s| {
        let k = (2..s.len())
            .find(|&k| s[k].parent != Some(s[k - 1].id))
            .expect("a fork");
        s[k].parent = Some(s[k - 2].id);
    })
    .unwrap_err();
    assert!(e.contains("parent"), "{e}");
}
