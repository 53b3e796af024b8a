//! The accuracy table of the README, made from the conformance checks, and
//! the comparison that keeps the README's copy from drifting.

use ruxley_backend::Backend;
use ruxley_core::Precision;

use crate::conformance::{gradients, traces};

/// The conformance checks of `backend` as a markdown table: every reference
/// trace case (largest voltage difference in f64; largest spike-time shift
/// in f32) and every gradient check (relative), with the suite's bars.
pub fn accuracy_table(backend: &dyn Backend) -> Result<String, String> {
    let strip = |name: &str| name.split(" (").next().unwrap_or(name).to_string();
    let mut out = String::from(
        "| reference | f64: largest difference | bar | f32: largest difference | bar |\n\
         |---|---|---|---|---|\n",
    );
    let t64 = traces(backend, Precision::F64)?;
    let t32 = traces(backend, Precision::F32)?;
    for (a, b) in t64.iter().zip(&t32) {
        out += &format!(
            "| {} | {:.1e} mV | {:.0e} mV | {:.1e} ms (spike times) | {:.0e} ms |\n",
            strip(&a.name),
            a.measured,
            a.tolerance,
            b.measured,
            b.tolerance
        );
    }
    let g64 = gradients(backend, Precision::F64)?;
    let g32 = gradients(backend, Precision::F32)?;
    for a in &g64 {
        let name = strip(&a.name);
        let f32 = g32.iter().find(|b| strip(&b.name) == name).map_or_else(
            || "- | -".to_string(),
            |b| format!("{:.1e} relative | {:.0e}", b.measured, b.tolerance),
        );
        out += &format!(
            "| {name} | {:.1e} relative | {:.0e} | {f32} |\n",
            a.measured, a.tolerance
        );
    }
    Ok(out)
}

/// Checks a quoted table against a fresh one: the same rows and cells, each
/// quoted number within `rel` of the fresh one (NaN never is).
pub fn compare_tables(quoted: &str, fresh: &str, rel: f64) -> Result<(), String> {
    let rows = |t: &str| -> Vec<Vec<String>> {
        t.lines()
            .filter(|l| l.starts_with('|') && !l.starts_with("|---"))
            .map(|l| {
                l.trim_matches('|')
                    .split('|')
                    .map(|c| c.trim().to_string())
                    .collect()
            })
            .collect()
    };
    let (q, f) = (rows(quoted), rows(fresh));
    if q.len() != f.len() {
        return Err(format!("{} rows quoted, {} measured", q.len(), f.len()));
    }
    for (qr, fr) in q.iter().zip(&f) {
        if qr.len() != fr.len() || qr[0] != fr[0] {
            return Err(format!(
                "row `{}` quoted where `{}` is measured",
                qr[0], fr[0]
            ));
        }
        for (qc, fc) in qr.iter().zip(fr) {
            let number = |c: &str| c.split_whitespace().next()?.parse::<f64>().ok();
            let (qu, fu) = (
                qc.split_once(' ').map(|x| x.1),
                fc.split_once(' ').map(|x| x.1),
            );
            match (number(qc), number(fc)) {
                (Some(a), Some(b)) if qu == fu && (a - b).abs() <= rel * b.abs() => {}
                (None, None) if qc == fc => {}
                _ => return Err(format!("{}: `{qc}` quoted, `{fc}` measured", qr[0])),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::compare_tables;

    const FRESH: &str = "| reference | f64 | f32 |\n|---|---|---|\n\
                         | W2 | 6.6e-9 mV | 1.1e-2 ms |\n| W4 | 2.6e-10 relative | - |\n";

    #[test]
    fn a_quoted_table_must_match_the_measured_one() {
        assert_eq!(compare_tables(FRESH, FRESH, 0.1), Ok(()));
        let near = FRESH.replace("6.6e-9", "6.2e-9");
        assert_eq!(compare_tables(&near, FRESH, 0.1), Ok(()));
        for (from, to, why) in [
            ("6.6e-9", "5.0e-9", "`5.0e-9 mV` quoted"),
            ("6.6e-9 mV", "6.6e-9 ms", "`6.6e-9 ms` quoted"),
            ("| - |", "| 1e-3 |", "`1e-3` quoted"),
            ("W4", "W5", "row `W5` quoted"),
        ] {
            let e = compare_tables(&FRESH.replace(from, to), FRESH, 0.1).unwrap_err();
            assert!(e.contains(why), "{to}: {e}");
        }
        let nan = FRESH.replace("6.6e-9", "NaN");
        assert!(compare_tables(FRESH, &nan, 0.1).is_err());
        assert!(compare_tables(&nan, &nan, 0.1).is_err());
        let short: String = FRESH.lines().take(3).map(|l| format!("{l}\n")).collect();
        assert!(
            compare_tables(&short, FRESH, 0.1)
                .unwrap_err()
                .contains("rows")
        );
    }
}
