COMMENT
A current with a state whose equation is nonlinear in it, solved by
derivimplicit (written for Ruxley's NMODL tests):
  s' = (sinf(v) - s) (1 + a s^2)/tau,  sinf(v) = 1/(1 + exp(-(v + 50)/8))
  i = g s (v - e)
ENDCOMMENT

NEURON {
    SUFFIX nonlin
    NONSPECIFIC_CURRENT i
    RANGE g, e, tau, a
}

PARAMETER {
    g = 0.005 (S/cm2)
    e = -80 (mV)
    tau = 5 (ms)
    a = 20
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
}

STATE {
    s
}

FUNCTION sinf(v (mV)) {
    sinf = 1/(1 + exp(-(v + 50)/8))
}

INITIAL {
    s = sinf(v)
}

BREAKPOINT {
    SOLVE states METHOD derivimplicit
    i = g*s*(v - e)
}

DERIVATIVE states {
    s' = (sinf(v) - s)*(1 + a*s*s)/tau
}
