import common as C, nrn_models as N
for var in ["nrn_bwd_notable", "nrn_cn_notable"]:
    N.set_variant(var)
    rep = {}
    m = N.build_w3("matched", geometry_report=rep)
    m.run(C.W3_STIM["t_max"])
    t, tr = m.traces()
    C.write_trace_csv(C.TRACES / f"w3_{var}.csv", t, tr)
    print(var, rep)
