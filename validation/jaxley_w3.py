import pickle, jax
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platform_name", "cpu")
import numpy as np, jaxley as jx
import common as C, jx_models as J
cell = pickle.load(open(C.WORK / "w3_cell.pkl", "rb"))
cell, names = J.build_w3(cell)
for solver, tag in [("bwd_euler", "jaxley_f64"), ("crank_nicolson", "jaxleycn_f64")]:
    v = np.asarray(jx.integrate(cell, delta_t=C.DT, t_max=C.W3_STIM["t_max"], solver=solver))
    t = np.arange(v.shape[1]) * C.DT
    C.write_trace_csv(C.TRACES / f"w3_{tag}.csv", t, dict(zip(names, v)))
a = np.loadtxt(C.TRACES / "w3_nrn_bwd_notable.csv", delimiter=",", skiprows=1)
b = np.loadtxt(C.TRACES / "w3_jaxley_f64.csv", delimiter=",", skiprows=1)
print(a.shape, b.shape, np.abs(a[:, 1:] - b[:, 1:]).max(axis=0))
a = np.loadtxt(C.TRACES / "w3_nrn_cn_notable.csv", delimiter=",", skiprows=1)
b = np.loadtxt(C.TRACES / "w3_jaxleycn_f64.csv", delimiter=",", skiprows=1)
print(a.shape, b.shape, np.abs(a[:, 1:] - b[:, 1:]).max(axis=0))
