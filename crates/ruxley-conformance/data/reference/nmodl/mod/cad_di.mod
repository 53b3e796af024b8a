COMMENT
A calcium pool solved by derivimplicit (written for Ruxley's NMODL tests):
  cai' = -k ica - (cai - cainf)/taur
ENDCOMMENT

NEURON {
    SUFFIX cad_di
    USEION ca READ ica WRITE cai
    RANGE k, taur, cainf
}

UNITS {
    (mM) = (milli/liter)
    (mA) = (milliamp)
}

PARAMETER {
    k = 50 (mM cm2/mA/ms)
    taur = 40 (ms)
    cainf = 1e-4 (mM)
}

ASSIGNED {
    ica (mA/cm2)
}

STATE {
    cai (mM)
}

INITIAL {
    cai = cainf
}

BREAKPOINT {
    SOLVE state METHOD derivimplicit
}

DERIVATIVE state {
    cai' = -k*ica - (cai - cainf)/taur
}
