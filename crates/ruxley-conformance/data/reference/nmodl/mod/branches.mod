COMMENT
A potassium current exercising the language (written for Ruxley's NMODL
tests): a GLOBAL, a TABLE, a q10 from celsius, a FUNCTION with else-if
branches, &&, ||, !=, log, fabs and pow.
ENDCOMMENT

NEURON {
    SUFFIX branches
    USEION k READ ek WRITE ik
    RANGE gbar
    GLOBAL vhalf, q10
}

UNITS {
    (mV) = (millivolt)
    (mA) = (milliamp)
    (S) = (siemens)
}

PARAMETER {
    gbar = 0.01 (S/cm2) <0, 1>
    vhalf = -40 (mV)
    q10 = 2.5
}

ASSIGNED {
    v (mV)
    ek (mV)
    ik (mA/cm2)
    celsius (degC)
    ninf
    ntau (ms)
}

STATE {
    n
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    ik = gbar*pow(n, 3)*(v - ek)
}

INITIAL {
    rates(v)
    n = ninf
}

DERIVATIVE states {
    rates(v)
    n' = (ninf - n)/ntau
}

FUNCTION slope(v (mV)) {
    if (v < -60 || v > 20) {
        slope = 12
    } else if (v >= -60 && v != -30) {
        slope = 9 + log(1 + fabs(v + 30)/10)
    } else {
        slope = 9
    }
}

PROCEDURE rates(v (mV)) {
    LOCAL qt
    TABLE ninf, ntau DEPEND celsius FROM -100 TO 100 WITH 200
    qt = q10^((celsius - 22)/10)
    ninf = 1/(1 + exp(-(v - vhalf)/slope(v)))
    ntau = (1 + 4*exp(-((v + 45)/20)^2))/qt
}
