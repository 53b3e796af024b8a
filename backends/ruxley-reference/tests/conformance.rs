//! The conformance suite on the reference backend: the same bars as the CPU
//! backend's, from code that shares nothing with it but the contract.

ruxley_conformance::conformance_tests!(ruxley_reference::ReferenceBackend);
