COMMENT
Nap_Et2: persistent sodium current, after Magistretti & Alonso (1999), as
used in the layer-5 pyramidal cell model of Hay et al. (2011).

Written for Ruxley from the plain-math channel description of that model.
  m_inf = 1/(1 + exp(-(v + 52.6)/4.6))   (a Boltzmann, from the unshifted v)
  tau_m = 6 (1/(alpha_m + beta_m))/qt, with x = v + 38:
    alpha_m = 0.182 x/(1 - exp(-x/6)),  beta_m = 0.124 x/(exp(x/6) - 1)
  h_inf = 1/(1 + exp((v + 48.8)/10))
  tau_h = (1/(alpha_h + beta_h))/qt, with
    alpha_h = 2.88e-6 (v + 17)/(exp((v + 17)/4.63) - 1)
    beta_h  = 6.94e-6 (v + 64.4)/(1 - exp(-(v + 64.4)/2.63))
qt = 2.3^((34 - 21)/10), fixed for 34 degC (it does not follow celsius).
Guards, in this order after m_inf, each testing the value left by the one
before: v == -38, v == -17, v == -64.4, each adding 1e-4 mV. h_inf and the
h rates use the final value.
Current: ina = gNap_Et2bar m^3 h (v - ena).
ENDCOMMENT

NEURON {
    SUFFIX Nap_Et2
    USEION na READ ena WRITE ina
    RANGE gNap_Et2bar, gNap_Et2, mInf, mTau, hInf, hTau
}

UNITS {
    (S) = (siemens)
    (mV) = (millivolt)
    (mA) = (milliamp)
}

PARAMETER {
    gNap_Et2bar = 0.00001 (S/cm2)
}

ASSIGNED {
    v (mV)
    ena (mV)
    ina (mA/cm2)
    gNap_Et2 (S/cm2)
    mInf
    mTau (ms)
    hInf
    hTau (ms)
}

STATE {
    m
    h
}

BREAKPOINT {
    SOLVE states METHOD cnexp
    gNap_Et2 = gNap_Et2bar*m*m*m*h
    ina = gNap_Et2*(v - ena)
}

DERIVATIVE states {
    rates()
    m' = (mInf - m)/mTau
    h' = (hInf - h)/hTau
}

INITIAL {
    rates()
    m = mInf
    h = hInf
}

PROCEDURE rates() {
    LOCAL qt, u, x, a, b
    qt = 2.3^((34 - 21)/10)

    UNITSOFF
    mInf = 1/(1 + exp(-(v + 52.6)/4.6))

    : u is a private copy of v; the membrane potential is never changed
    if (v == -38) {
        u = v + 0.0001
    } else {
        u = v
    }
    x = u + 38
    a = 0.182*x/(1 - exp(-x/6))
    b = 0.124*x/(exp(x/6) - 1)
    mTau = 6*(1/(a + b))/qt

    if (u == -17) {
        u = u + 0.0001
    }
    if (u == -64.4) {
        u = u + 0.0001
    }
    hInf = 1/(1 + exp((u + 48.8)/10))
    a = 2.88e-6*(u + 17)/(exp((u + 17)/4.63) - 1)
    b = 6.94e-6*(u + 64.4)/(1 - exp(-(u + 64.4)/2.63))
    hTau = (1/(a + b))/qt
    UNITSON
}
