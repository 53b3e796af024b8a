//! Branch numbering, topology and per-compartment geometry against Jaxley's
//! `read_swc` (fixtures exported by validation/jaxley_geometry.py with Jaxley 0.14.0).

use std::path::{Path, PathBuf};

use ruxley_morph::{Ncomp, SwcOptions, TraceOptions, read_swc, trace};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn floats(v: &Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn group_of(kind: i32) -> String {
    match kind {
        0 => "undefined".into(),
        1 => "soma".into(),
        2 => "axon".into(),
        3 => "basal".into(),
        4 => "apical".into(),
        k => format!("custom{k}"),
    }
}

/// Compares one fixture; returns the largest relative deviation.
fn check(fixture: &Path, swc: &Path) -> f64 {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    let ncomp = v["ncomp"].as_u64().unwrap() as usize;
    let options = TraceOptions {
        max_branch_len: v["max_branch_len"].as_f64(),
        ..TraceOptions::default()
    };
    let swc = read_swc(swc, &SwcOptions::default()).unwrap();
    let morph = trace(&swc, &options).unwrap();
    let branches = morph.discretize(&Ncomp::Uniform(ncomp)).unwrap();
    let name = fixture.display();
    assert_eq!(
        branches.len() as u64,
        v["nbranches"].as_u64().unwrap(),
        "{name}: branch count"
    );
    let parents: Vec<i64> = branches
        .iter()
        .map(|b| b.parent.map_or(-1, |p| p as i64))
        .collect();
    let expected: Vec<i64> = v["parents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_i64().unwrap())
        .collect();
    assert_eq!(parents, expected, "{name}: parents");
    if let Some(groups) = v.get("groups") {
        for (b, branch) in branches.iter().enumerate() {
            let g = groups[b].as_array().unwrap();
            assert_eq!(g.len(), 1, "{name}: branch {b} groups {g:?}");
            assert_eq!(
                g[0].as_str().unwrap(),
                group_of(branch.kind.unwrap()),
                "{name}: branch {b}"
            );
        }
    }
    let comps: Vec<_> = branches.iter().flat_map(|b| b.comps.iter()).collect();
    let mut worst: f64 = 0.0;
    for (key, get) in [
        (
            "area",
            (|c: &ruxley_morph::CompartmentGeometry| c.area) as fn(&_) -> f64,
        ),
        ("radius", |c| c.radius),
        ("length", |c| c.length),
        ("resistive_load_in", |c| c.load_in),
        ("resistive_load_out", |c| c.load_out),
    ] {
        let want = floats(&v, key);
        assert_eq!(want.len(), comps.len(), "{name}: {key} count");
        for (k, (c, w)) in comps.iter().zip(&want).enumerate() {
            let got = get(c);
            let rel = (got - w).abs() / w.abs().max(1e-300);
            assert!(
                rel <= 1e-12,
                "{name}: {key}[{k}] = {got}, Jaxley {w} (rel {rel:.2e})"
            );
            worst = worst.max(rel);
        }
    }
    worst
}

#[test]
fn w3_ca1_cell_matches_jaxley_geometry_and_anchor_totals() {
    let dir = root().join("data/morphologies/jaxley/tests_swc_files");
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jaxley/w3_geometry_jaxley.json");
    let worst = check(&fixture, &dir.join("morph_ca1_n120_single_point_soma.swc"));
    println!("W3: worst relative deviation {worst:.2e}");

    let swc = read_swc(
        dir.join("morph_ca1_n120_single_point_soma.swc"),
        &SwcOptions::default(),
    )
    .unwrap();
    let branches = trace(&swc, &TraceOptions::default())
        .unwrap()
        .discretize(&Ncomp::Uniform(8))
        .unwrap();
    let comps: Vec<_> = branches.iter().flat_map(|b| b.comps.iter()).collect();
    assert_eq!(branches.len(), 154);
    assert_eq!(comps.len(), 1232);
    let area: f64 = comps.iter().map(|c| c.area).sum();
    let length: f64 = comps.iter().map(|c| c.length).sum();
    // WORKLOADS.md: total area 32596.55 um2, total length 11872.38 um.
    assert!((area - 32596.55).abs() < 0.005, "area {area}");
    assert!((length - 11872.38).abs() < 0.005, "length {length}");
}

#[test]
fn every_fixture_matches_jaxley() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jaxley");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let Some(file) = v.get("file").and_then(|f| f.as_str()) else {
            continue;
        };
        assert!(
            v.get("error").is_none(),
            "{}: Jaxley failed",
            path.display()
        );
        let worst = check(&path, &root().join("data/morphologies").join(file));
        println!("{file}: worst relative deviation {worst:.2e}");
        n += 1;
    }
    assert!(n >= 20, "only {n} fixtures found");
}
