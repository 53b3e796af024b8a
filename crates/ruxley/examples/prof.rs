use ruxley::cpu::CpuBackend;
use ruxley::{Backend, Batch};
fn main() {
    let hh = ruxley_conformance::l5pc::from_mod_files("hh").0;
    let w = ruxley_conformance::workloads::w2_with(hh).unwrap();
    let l = w.model.build().unwrap();
    let cpu = CpuBackend::sequential();
    let t = std::time::Instant::now();
    for _ in 0..200 {
        cpu.simulate(&l, Batch::single(), &w.options).unwrap();
    }
    println!("{:.2} ms", t.elapsed().as_secs_f64() * 1e3 / 200.0);
}
