COMMENT
A potassium current with a three-state kinetic scheme (written for Ruxley's
NMODL tests): C1 <-> C2 <-> O, rates exponential in v, conserved occupancy,
started at its steady state.
ENDCOMMENT

NEURON {
    SUFFIX kin3
    USEION k READ ek WRITE ik
    RANGE gbar
}

UNITS {
    (mV) = (millivolt)
    (mA) = (milliamp)
    (S) = (siemens)
}

PARAMETER {
    gbar = 0.02 (S/cm2)
}

ASSIGNED {
    v (mV)
    ek (mV)
    ik (mA/cm2)
    a1 (/ms)
    b1 (/ms)
    a2 (/ms)
    b2 (/ms)
}

STATE {
    C1
    C2
    O
}

BREAKPOINT {
    SOLVE kin METHOD sparse
    ik = gbar*O*(v - ek)
}

INITIAL {
    SOLVE kin STEADYSTATE sparse
}

KINETIC kin {
    rates(v)
    ~ C1 <-> C2 (a1, b1)
    ~ C2 <-> O (a2, b2)
    CONSERVE C1 + C2 + O = 1
}

PROCEDURE rates(v (mV)) {
    a1 = 0.2*exp((v + 40)/20)
    b1 = 0.1*exp(-(v + 40)/20)
    a2 = 0.5*exp((v + 30)/15)
    b2 = 0.05*exp(-(v + 30)/25)
}
