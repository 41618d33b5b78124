//! The per-head decays are the spec's.

use rem_worldmodel::retention::retention_decays;

#[test]
fn four_heads_have_the_spec_decays() {
    // Spec section 3, printed to five decimals.
    let spec = [0.96875, 0.98760, 0.99508, 0.99805];
    let decays = retention_decays(4);
    assert_eq!(decays.len(), 4);
    for (got, want) in decays.iter().zip(spec) {
        assert!(
            (got - want).abs() <= 5e-6,
            "decay {got} is not the spec's {want}"
        );
    }
}

#[test]
fn decays_run_from_one_thirty_second_to_one_five_hundred_twelfth_of_forgetting() {
    let decays = retention_decays(7);
    assert!((decays[0] - (1.0 - 1.0 / 32.0)).abs() < 1e-12);
    assert!((decays[6] - (1.0 - 1.0 / 512.0)).abs() < 1e-12);
    assert!(
        decays.windows(2).all(|w| w[0] < w[1]),
        "decays must increase"
    );
}
