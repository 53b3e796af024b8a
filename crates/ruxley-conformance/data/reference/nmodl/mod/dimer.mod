COMMENT
A current gated by a dimer (written for Ruxley's NMODL tests): the
second-order scheme 2 A <-> D, voltage-dependent, with A + 2 D = 1, started
at its steady state.
ENDCOMMENT

NEURON {
    SUFFIX dimer
    NONSPECIFIC_CURRENT i
    RANGE g, e
}

PARAMETER {
    g = 0.004 (S/cm2)
    e = -75 (mV)
}

ASSIGNED {
    v (mV)
    i (mA/cm2)
    kf (/ms)
    kb (/ms)
}

STATE {
    A
    D
}

BREAKPOINT {
    SOLVE scheme METHOD sparse
    i = g*D*(v - e)
}

INITIAL {
    A = 1
    D = 0
    SOLVE scheme STEADYSTATE sparse
}

KINETIC scheme {
    kf = 2*exp((v + 50)/10)
    kb = 1
    ~ 2A <-> D (kf, kb)
    CONSERVE A + 2D = 1
}
