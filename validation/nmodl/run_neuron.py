"""NEURON runs of NMODL files read by Ruxley's importer.

Compiles the test mechanisms (crates/ruxley-conformance/data/reference/nmodl/mod)
and the shipped Hay et al. (2011) set (crates/ruxley-nmodl/mechanisms, all but
hh.mod and pas.mod, whose suffixes are NEURON's own: NEURON runs its built-in
hh and pas, which Ruxley runs from those files) with nrnivmodl, then runs
one compartment per protocol and writes
crates/ruxley-conformance/data/reference/nmodl/nrn_<protocol>.csv:
time_ms, v, and the recorded states and concentrations (12 significant digits).

Every run: a cylinder 20 um long and 20 um in diameter, cm 1 uF/cm2, Ra 100,
NEURON's hh (exact rates, usetable_hh = 0), backward Euler (secondorder 0),
dt 0.025 ms, 150 ms, v_init -65 mV, celsius 20 degC, and an IClamp at 0.5
from 10 ms for 100 ms.

Run with NEURON 9.0.2 (pip install neuron==9.0.2):
    python validation/nmodl/run_neuron.py
"""

import csv
import glob
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TESTS = os.path.join(ROOT, "crates/ruxley-conformance/data/reference/nmodl")
SHIPPED = os.path.join(ROOT, "crates/ruxley-nmodl/mechanisms")

# protocol: (mechanisms with their settings, clamp amplitude nA, recorded
# columns as (name, pointer attribute of the segment))
PROTOCOLS = {
    "di_pool": (
        [("Ca_HVA", {"gCa_HVAbar": 2e-3}), ("cad_di", {})],
        0.15,
        [("cai", "_ref_cai"), ("Ca_HVA.m", "_ref_m_Ca_HVA"), ("Ca_HVA.h", "_ref_h_Ca_HVA")],
    ),
    "nonlinear": ([("nonlin", {})], 0.1, [("nonlin.s", "_ref_s_nonlin")]),
    "branches": ([("branches", {"gbar": 0.01})], 0.1, [("branches.n", "_ref_n_branches")]),
    "passive": ([("pas", {"g": 5e-5, "e": -70.0})], 0.1, []),
    "kinetic": (
        [("kin3", {}), ("dimer", {})],
        0.12,
        [
            ("kin3.C1", "_ref_C1_kin3"),
            ("kin3.O", "_ref_O_kin3"),
            ("dimer.A", "_ref_A_dimer"),
            ("dimer.D", "_ref_D_dimer"),
        ],
    ),
}


def compile_mechanisms(work):
    for f in glob.glob(os.path.join(TESTS, "mod", "*.mod")) + glob.glob(os.path.join(SHIPPED, "*.mod")):
        if os.path.basename(f) not in ("hh.mod", "pas.mod"):
            shutil.copy(f, work)
    nrnivmodl = os.path.join(os.path.dirname(sys.executable), "nrnivmodl")
    subprocess.run([nrnivmodl], cwd=work, check=True, stdout=subprocess.DEVNULL)


def run(h, mechanisms, amplitude, columns):
    soma = h.Section(name="soma")
    soma.L, soma.diam, soma.cm, soma.Ra = 20.0, 20.0, 1.0, 100.0
    soma.insert("hh")
    for name, settings in mechanisms:
        soma.insert(name)
        for k, x in settings.items():
            setattr(soma(0.5), f"{k}_{name}", x)
    clamp = h.IClamp(soma(0.5))
    clamp.delay, clamp.dur, clamp.amp = 10.0, 100.0, amplitude
    seg = soma(0.5)
    vectors = [("time_ms", h.Vector().record(h._ref_t)), ("v", h.Vector().record(seg._ref_v))]
    vectors += [(name, h.Vector().record(getattr(seg, ref))) for name, ref in columns]
    h.finitialize(-65.0)
    while h.t < 150.0 - 1e-9:
        h.fadvance()
    return vectors


def main():
    work = tempfile.mkdtemp()
    compile_mechanisms(work)
    import neuron
    from neuron import h

    neuron.load_mechanisms(work)
    h.secondorder = 0
    h.usetable_hh = 0
    h.usetable_branches = 0
    h.dt = 0.025
    h.celsius = 20.0
    h.vhalf_branches = -35.0
    for protocol, (mechanisms, amplitude, columns) in PROTOCOLS.items():
        vectors = run(h, mechanisms, amplitude, columns)
        path = os.path.join(TESTS, f"nrn_{protocol}.csv")
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow([n for n, _ in vectors])
            for row in zip(*[v.to_python() for _, v in vectors]):
                w.writerow([f"{x:.12g}" for x in row])
        print(f"{path}: {len(vectors[0][1])} rows")
        for sec in list(h.allsec()):
            h.delete_section(sec=sec)
    print("NEURON", neuron.__version__)


if __name__ == "__main__":
    main()
