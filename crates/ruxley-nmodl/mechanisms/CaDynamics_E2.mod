COMMENT
CaDynamics_E2: intracellular calcium in a submembrane shell with buffering
and first-order decay (after Destexhe et al. 1994), as used in the layer-5
pyramidal cell model of Hay et al. (2011).

Written for Ruxley from the plain-math description of that model:
  dcai/dt = -(10000) gamma ica/(2 F depth) - (cai - minCai)/decay
with ica in mA/cm2, depth in um, F in C/mol and cai in mM. ica/(2 F depth)
is then in 10 mol/(s cm3) = 1e4 mM/ms, hence the factor 10000, which gives
mM/ms. Inward (negative) ica raises cai. gamma is the free (unbuffered)
fraction of the calcium that enters.

There is deliberately no INITIAL block: cai starts at the ion's initial
concentration (NEURON's cai0_ca_ion, 5e-5 mM), neither at minCai nor at a
steady state. There is no lower bound on cai.
ENDCOMMENT

NEURON {
    SUFFIX CaDynamics_E2
    USEION ca READ ica WRITE cai
    RANGE gamma, decay, depth, minCai
}

UNITS {
    (mV) = (millivolt)
    (mA) = (milliamp)
    (um) = (micron)
    (mM) = (milli/liter)
    FARADAY = (faraday) (coulombs)
}

PARAMETER {
    gamma = 0.05           : free fraction of the calcium influx
    decay = 80 (ms)        : time constant of removal
    depth = 0.1 (um)       : depth of the submembrane shell
    minCai = 1e-4 (mM)     : resting level reached by the decay
}

ASSIGNED {
    ica (mA/cm2)
}

STATE {
    cai (mM)
}

BREAKPOINT {
    SOLVE states METHOD cnexp
}

DERIVATIVE states {
    cai' = -(10000)*gamma*ica/(2*FARADAY*depth) - (cai - minCai)/decay
}
