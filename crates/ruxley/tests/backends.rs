//! Backends by name: the ones built in, clear errors for the rest.

#[test]
fn the_cpu_backend_is_there_by_name_and_by_default() {
    let cpu = ruxley::backend_by_name("cpu").unwrap();
    assert_eq!(cpu.name(), "cpu");
    let best = ruxley::default_backend().unwrap();
    if !cfg!(any(feature = "cubecl-cuda", feature = "cubecl-wgpu")) {
        assert_eq!(best.name(), "cpu");
    }
}

#[test]
fn an_unknown_or_missing_backend_is_a_clear_error() {
    let e = ruxley::backend_by_name("tpu").err().unwrap().to_string();
    assert!(e.contains("unknown backend `tpu`"), "{e}");
    #[cfg(not(feature = "cubecl-cuda"))]
    {
        let e = ruxley::backend_by_name("cuda").err().unwrap().to_string();
        assert!(e.contains("enable the `cubecl-cuda` feature"), "{e}");
    }
    #[cfg(not(feature = "cubecl-wgpu"))]
    {
        let e = ruxley::backend_by_name("wgpu").err().unwrap().to_string();
        assert!(e.contains("enable the `cubecl-wgpu` feature"), "{e}");
    }
}
