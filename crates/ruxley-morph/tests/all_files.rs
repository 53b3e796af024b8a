//! Every SWC file we have gives a compartmentalised cell or a typed error,
//! never a panic, and every cell has finite, positive geometry.

use std::path::{Path, PathBuf};

use ruxley_morph::{Ncomp, SwcOptions, TraceOptions, read_swc, trace};

fn swc_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            swc_files(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("swc"))
        {
            out.push(path);
        }
    }
}

/// Reads one file with the given options; Ok(branches) or Err(message).
fn load(path: &Path, unit_um: f64, min_radius: Option<f64>) -> Result<usize, String> {
    let swc = read_swc(path, &SwcOptions { unit_um }).map_err(|e| e.to_string())?;
    let options = TraceOptions {
        min_radius,
        max_branch_len: Some(300.0),
        ..TraceOptions::default()
    };
    let morph = trace(&swc, &options).map_err(|e| e.to_string())?;
    let branches = morph
        .discretize(&Ncomp::Uniform(2))
        .map_err(|e| e.to_string())?;
    for (b, branch) in branches.iter().enumerate() {
        assert!(
            branch.parent.is_none_or(|p| p < b),
            "{}: parent after child",
            path.display()
        );
        for c in &branch.comps {
            for x in [c.area, c.radius, c.length, c.load_in, c.load_out, c.volume] {
                assert!(
                    x.is_finite() && x > 0.0,
                    "{}: branch {b}: {c:?}",
                    path.display()
                );
            }
        }
    }
    Ok(branches.len())
}

#[test]
fn every_swc_file_gives_a_cell_or_a_typed_error() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    swc_files(&here.join("../../data/morphologies"), &mut files);
    let bundled = files.len();
    // More files on request (`RUXLEY_EXTRA_SWC=dir`); by default only the
    // repository's, so that the test is the same everywhere.
    if let Some(dir) = std::env::var_os("RUXLEY_EXTRA_SWC") {
        swc_files(Path::new(&dir), &mut files);
    }
    assert!(bundled >= 100, "only {bundled} bundled SWC files");
    let (mut cells, mut errors) = (0, 0);
    for path in &files {
        let name = path.display().to_string();
        let unit = if name.contains("flywire") { 1e-3 } else { 1.0 };
        match std::panic::catch_unwind(|| (load(path, unit, None), load(path, unit, Some(0.1)))) {
            Ok((strict, lenient)) => {
                match &strict {
                    Ok(_) => cells += 1,
                    Err(e) => {
                        errors += 1;
                        println!("{name}: {e}");
                        assert!(!e.is_empty());
                    }
                }
                // min_radius only removes the zero-radius error.
                if let (Err(e), Ok(_)) = (&strict, &lenient) {
                    assert!(e.contains("radius 0"), "{name}: {e}");
                }
            }
            Err(_) => panic!("{name}: the reader panicked"),
        }
    }
    println!(
        "{} files: {cells} cells, {errors} typed errors",
        files.len()
    );
}
