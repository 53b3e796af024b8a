"""Jaxley 0.14.0 float64 traces of the Pospischil et al. (2008) channels in one
compartment, for crates/ruxley/tests/pospischil.rs.

Every gate starts at a given value (Jaxley's own init_states gives Km and CaT
a wrong steady state), and the runs stay where Jaxley's save_exp clipping of
exponents above 20 never acts: the spiking cell has no CaT (whose tau clips
above -15 mV), the CaT cell stays below -20 mV.

Run: python validation/jaxley_pospischil.py crates/ruxley-conformance/data/reference/pospischil
"""
import csv
import sys
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platform_name", "cpu")
import numpy as np  # noqa: E402
import jaxley as jx  # noqa: E402
from jaxley.channels.pospischil import CaL, CaT, K, Km, Leak, Na  # noqa: E402

DT, T_MAX = 0.025, 200.0

# name: (channels, parameters, initial states, step (delay, duration, nA), recorded states)
CELLS = {
    "spiking": (
        [Na, K, Km, CaL, Leak],
        {
            "Na_gNa": 0.05,
            "K_gK": 0.005,
            "Km_gKm": 3e-4,
            "Km_taumax": 400.0,
            "CaL_gCaL": 2e-4,
            "Leak_gLeak": 1e-4,
            "Leak_eLeak": -70.0,
            "eNa": 50.0,
            "eK": -90.0,
            "eCa": 120.0,
            "vt": -58.0,
        },
        {"Na_m": 0.02, "Na_h": 0.9, "K_n": 0.05, "Km_p": 0.03, "CaL_q": 0.01, "CaL_r": 0.4},
        (10.0, 180.0, 0.15),
        ["Km_p", "CaL_q", "CaL_r"],
    ),
    "cat": (
        [CaT, Km, Leak],
        {
            "CaT_gCaT": 5e-4,
            "CaT_vx": 2.0,
            "Km_gKm": 1e-4,
            "Km_taumax": 1000.0,
            "Leak_gLeak": 5e-5,
            "Leak_eLeak": -65.0,
            "eK": -90.0,
            "eCa": 120.0,
        },
        {"CaT_u": 0.1, "Km_p": 0.02},
        (20.0, 80.0, -0.012),
        ["CaT_u", "Km_p"],
    ),
}


def run(name):
    channels, params, states, (delay, dur, amp), recorded = CELLS[name]
    cell = jx.Cell(jx.Branch(jx.Compartment(), ncomp=1), parents=[-1])
    cell.set("length", 20.0)
    cell.set("radius", 10.0)
    cell.set("capacitance", 1.0)
    for ch in channels:
        cell.insert(ch())
    for k, x in {**params, **states}.items():
        cell.set(k, x)
    cell.set("v", -70.0)
    soma = cell.branch(0).comp(0)
    soma.stimulate(jx.step_current(delay, dur, amp, DT, T_MAX), verbose=False)
    for s in ["v"] + recorded:
        soma.record(s, verbose=False)
    out = np.asarray(jx.integrate(cell, delta_t=DT, t_max=T_MAX))
    names = ["v_soma_mV"] + [f"{s}_soma" for s in recorded]
    return np.arange(out.shape[1]) * DT, dict(zip(names, out))


def main(out_dir):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in CELLS:
        t, cols = run(name)
        with open(out_dir / f"jaxley_{name}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["time_ms"] + list(cols))
            for k in range(len(t)):
                w.writerow([f"{t[k]:.4f}"] + [f"{cols[c][k]:.15g}" for c in cols])
        v = cols["v_soma_mV"]
        print(name, "v range", v.min(), v.max())


if __name__ == "__main__":
    main(sys.argv[1])
