//! The Ruxley timing worker of `validation/peer_speed.py`: builds the anchor
//! workloads, runs each once (warm-up), prints `ready ruxley ...`, then
//! answers every line naming a workload (`w1long`, `w2`, `w3`, `w5`, `w6`)
//! with the seconds one run takes, timed in-process on one thread (the CPU
//! backend without rayon; W5's 100 members share SIMD lanes), and stops at
//! `quit`.

use std::io::{BufRead, Write};
use std::time::Instant;

use ruxley::cpu::CpuBackend;
use ruxley::{Backend, Batch, SimError};
use ruxley_benches::{Prepared, prepare, w1_long, w2, w3, w5_params};
use ruxley_conformance::workloads;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let backend = CpuBackend::sequential();
    let (w1, w2, w3) = (w1_long(), w2(), w3());
    let w5 = w5_params(&w2.layout);
    let w6 = prepare(workloads::w6()?);
    let one = |w: &Prepared| {
        backend
            .simulate(&w.layout, Batch::single(), &w.options)
            .map(drop)
    };
    let run = |name: &str| -> Result<(), SimError> {
        match name {
            "w1long" => one(&w1),
            "w2" => one(&w2),
            "w3" => one(&w3),
            "w5" => backend
                .simulate(&w2.layout, Batch::params(&w5), &w2.options)
                .map(drop),
            "w6" => one(&w6),
            other => Err(SimError::Unsupported(format!("no workload `{other}`"))),
        }
    };
    for w in ["w1long", "w2", "w3", "w5", "w6"] {
        run(w)?;
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "ready ruxley {} cpu backend, 1 thread",
        env!("CARGO_PKG_VERSION")
    )?;
    out.flush()?;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let cmd = line.trim();
        if cmd.is_empty() {
            continue;
        }
        if cmd == "quit" {
            break;
        }
        let start = Instant::now();
        run(cmd)?;
        writeln!(out, "{:.9}", start.elapsed().as_secs_f64())?;
        out.flush()?;
    }
    Ok(())
}
