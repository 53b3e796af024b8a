//! The GPU chapter's Jaxley columns are the figures in
//! `results/jaxley/*.json`, rounded as printed: they cannot drift from
//! their source.

use serde_json::Value;

fn read(path: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The seconds at `path` (slash-separated keys) of Jaxley's run in
/// `precision`.
fn jaxley_seconds(precision: &str, path: &str) -> f64 {
    let json: Value = serde_json::from_str(&read(&format!(
        "results/jaxley/jaxley_gpu_{precision}.json"
    )))
    .unwrap();
    let mut v = &json["items"];
    for key in path.split('/') {
        v = &v[key];
    }
    v.as_f64()
        .unwrap_or_else(|| panic!("{precision} {path}: {v}"))
}

/// The cells of the chapter's table row that starts with `label`.
fn row<'a>(chapter: &'a str, label: &str) -> Vec<&'a str> {
    let line = chapter
        .lines()
        .find(|l| l.starts_with(&format!("| {label}")))
        .unwrap_or_else(|| panic!("no row {label}"));
    line.split('|').map(str::trim).collect()
}

/// The chapter's Jaxley cells that differ from the files, as
/// (row, precision, printed, measured), and how many cells were checked.
fn misquoted(chapter: &str) -> (Vec<(String, String, String, String)>, usize) {
    // Row label, the JSON path of its time, the unit and decimals printed.
    let rows = [
        ("W1 x 1,000,000", "w1_batch/timing/time_s", "ms", 1),
        ("W2 x 10,000 ", "w2_batch/runs/10000/timing/time_s", "s", 3),
        ("W2 x 1,000 ", "w2_batch/runs/1000/timing/time_s", "s", 3),
        ("W2 x 100 ", "w2_batch/runs/100/timing/time_s", "s", 3),
        ("W3 single cell", "w3_forward/forward/time_s", "s", 2),
        ("W6 network", "w6/forward/time_s", "ms", 1),
    ];
    let (mut wrong, mut checked) = (Vec::new(), 0);
    for (label, path, unit, decimals) in rows {
        let cells = row(chapter, label);
        // | workload | Ruxley f64 | Ruxley f32 | Jaxley f64 | Jaxley f32 | goal |
        for (column, precision) in [(4, "f64"), (5, "f32")] {
            let s = jaxley_seconds(precision, path);
            let value = if unit == "ms" { s * 1e3 } else { s };
            let want = format!("{value:.decimals$} {unit}");
            if cells[column] != want {
                wrong.push((label.into(), precision.into(), cells[column].into(), want));
            }
            checked += 1;
        }
    }
    (wrong, checked)
}

#[test]
fn the_gpu_chapter_quotes_jaxley_as_measured() {
    let (wrong, checked) = misquoted(&read("../../book/src/gpu.md"));
    assert!(wrong.is_empty(), "{wrong:?}");
    assert_eq!(checked, 12);
}

#[test]
fn a_misquoted_figure_is_caught() {
    let chapter = read("../../book/src/gpu.md").replace("| 52.6 ms |", "| 50.0 ms |");
    let (wrong, _) = misquoted(&chapter);
    assert_eq!(wrong.len(), 1, "{wrong:?}");
    assert_eq!(
        (wrong[0].2.as_str(), wrong[0].3.as_str()),
        ("50.0 ms", "52.6 ms")
    );
}
