//! The README's accuracy table is the conformance suite's output on the CPU
//! backend: every figure within 10 % of what the suite measures now.
//! `RUXLEY_WRITE_README=1` rewrites the table from a fresh run.

use std::path::Path;

use ruxley::cpu::CpuBackend;
use ruxley_conformance::table::{accuracy_table, compare_tables};

const BEGIN: &str = "<!-- ANCHOR: accuracy -->\n";
const END: &str = "<!-- ANCHOR_END: accuracy -->";

#[test]
fn the_readme_accuracy_table_is_what_the_suite_measures() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = readme.find(BEGIN).expect("the README marks its table") + BEGIN.len();
    let end = start + readme[start..].find(END).expect("the table's end marker");
    let fresh = accuracy_table(&CpuBackend::new()).unwrap();
    if std::env::var_os("RUXLEY_WRITE_README").is_some() {
        let text = format!("{}{fresh}{}", &readme[..start], &readme[end..]);
        std::fs::write(&path, text).unwrap();
        return;
    }
    if let Err(e) = compare_tables(&readme[start..end], &fresh, 0.1) {
        panic!(
            "the README's accuracy table is out of date ({e}); measured now:\n{fresh}\n\
             rewrite it with RUXLEY_WRITE_README=1 cargo test --release -p ruxley --test readme"
        );
    }
}
