//! Declarations at the edges of the language, built as a test crate: networks that only
//! test builds compile; networks too large to allocate, which must still compile and be
//! counted, and then fail to construct with an error naming the bytes they need instead
//! of aborting the process; and networks deep enough that their generated code is split
//! into several functions.

mod common;

use nn::{network, Error, Network};

network! {
    /// Only in test builds (this file is one): a network for tests alone.
    #[cfg(test)]
    TestOnly: [4] => linear(4, 2) -> relu;
    /// Configured out of test builds, everything generated for it included: the
    /// `Twin` below, of the same name, would otherwise collide with it.
    #[cfg(not(test))]
    Twin: [4] => linear(4, 2);
    /// Never compiled.
    #[cfg(any())]
    Never: [1, 8, 8] => conv(1, 2, 3) -> maxpool(2);
    /// 2⁵⁶ + 2¹⁶ parameters: 2⁵⁸ bytes for the f32 parameters alone, beyond any
    /// address space (the allocator refuses them).
    Unallocatable: [1099511627776] => linear(1099511627776, 65536);
    /// 2⁶² + 2²² parameters: more bytes than a `Vec` can hold.
    Unaddressable: [1099511627776] => linear(1099511627776, 4194304)
}

network! {
    /// The test build's own `Twin`.
    #[cfg(test)]
    Twin: [4] => linear(4, 3)
}

// Deeper than one generated function holds (`STEPS_PER_FUNCTION`, 32 steps): forward,
// backward and initialization each run as several functions, in order.
network! {
    /// 40 × (linear, relu): 80 forward and 80 backward steps, 40 layers to initialize.
    DeepIdentity: [3] => linear(3, 3) -> relu -> linear(3, 3) -> relu -> linear(3, 3) -> relu -> linear(3, 3) -> relu
        -> linear(3, 3) -> relu -> linear(3, 3) -> relu -> linear(3, 3) -> relu -> linear(3, 3) -> relu
        -> linear(3, 3) -> relu -> linear(3, 3) -> relu -> linear(3, 3) -> relu -> linear(3, 3) -> relu
        -> linear(3, 3) -> relu -> linear(3, 3) -> relu -> linear(3, 3) -> relu -> linear(3, 3) -> relu
        -> linear(3, 3) -> relu -> linear(3, 3) -> relu -> linear(3, 3) -> relu -> linear(3, 3) -> relu
        -> linear(3, 3) -> relu -> linear(3, 3) -> relu -> linear(3, 3) -> relu -> linear(3, 3) -> relu
        -> linear(3, 3) -> relu -> linear(3, 3) -> relu -> linear(3, 3) -> relu -> linear(3, 3) -> relu
        -> linear(3, 3) -> relu -> linear(3, 3) -> relu -> linear(3, 3) -> relu -> linear(3, 3) -> relu
        -> linear(3, 3) -> relu -> linear(3, 3) -> relu -> linear(3, 3) -> relu -> linear(3, 3) -> relu
        -> linear(3, 3) -> relu -> linear(3, 3) -> relu -> linear(3, 3) -> relu -> linear(3, 3) -> relu;
    /// 16 × (conv, tanh, batch norm), then pooling and a classifier: 50 forward and 50
    /// backward steps, 33 layers to initialize, with buffers and batch statistics.
    DeepMixed: [2, 5, 5] => conv(2, 2, 3, padding = 1) -> tanh -> batchnorm(2)
        -> conv(2, 2, 3, padding = 1) -> tanh -> batchnorm(2)
        -> conv(2, 2, 3, padding = 1) -> tanh -> batchnorm(2) -> conv(2, 2, 3, padding = 1) -> tanh -> batchnorm(2)
        -> conv(2, 2, 3, padding = 1) -> tanh -> batchnorm(2) -> conv(2, 2, 3, padding = 1) -> tanh -> batchnorm(2)
        -> conv(2, 2, 3, padding = 1) -> tanh -> batchnorm(2) -> conv(2, 2, 3, padding = 1) -> tanh -> batchnorm(2)
        -> conv(2, 2, 3, padding = 1) -> tanh -> batchnorm(2) -> conv(2, 2, 3, padding = 1) -> tanh -> batchnorm(2)
        -> conv(2, 2, 3, padding = 1) -> tanh -> batchnorm(2) -> conv(2, 2, 3, padding = 1) -> tanh -> batchnorm(2)
        -> conv(2, 2, 3, padding = 1) -> tanh -> batchnorm(2) -> conv(2, 2, 3, padding = 1) -> tanh -> batchnorm(2)
        -> conv(2, 2, 3, padding = 1) -> tanh -> batchnorm(2) -> conv(2, 2, 3, padding = 1) -> tanh -> batchnorm(2)
        -> maxpool(2) -> flatten -> linear(8, 3)
}

#[test]
fn a_network_split_into_several_functions_runs_every_step_in_order() {
    let mut net = DeepIdentity::<f64>::with_seed(0);
    // Identity weights and zero biases: every layer passes positive inputs on unchanged,
    // so a step skipped, repeated or run out of order shows in the output.
    let mut offset = 0;
    for layer in DeepIdentity::LAYERS.iter().filter(|l| l.params > 0) {
        let params = &mut net.params_mut()[offset..offset + layer.params];
        params.fill(0.0);
        for i in 0..3 {
            params[i * 3 + i] = 1.0 + offset as f64 * 1e-3;
        }
        offset += layer.params;
    }
    let scale: f64 = (0..40).map(|l| 1.0 + (l * 12) as f64 * 1e-3).product();
    let output = net.forward(&[1.0, 2.0, 3.0]).unwrap().to_vec();
    for (y, x) in output.iter().zip([1.0, 2.0, 3.0]) {
        assert!((y - x * scale).abs() < 1e-12 * scale, "{output:?} vs {scale} × [1, 2, 3]");
    }
    // Every initialization function ran: no parameter left at its zero allocation.
    let fresh = DeepIdentity::<f64>::with_seed(0);
    let weights: Vec<f64> = fresh.params().chunks(12).map(|layer| layer[0]).collect();
    assert!(weights.iter().all(|&w| w != 0.0), "{weights:?}");
}

#[test]
fn a_network_split_into_several_functions_has_the_gradients_of_its_outputs() {
    common::check_gradients::<DeepIdentity<f64>>(2, 12);
    common::check_gradients::<DeepMixed<f64>>(3, 12);
}

#[test]
fn a_network_configured_for_tests_only_compiles_and_runs() {
    let mut net = TestOnly::new(0);
    assert_eq!(net.forward(&[1.0; 4]).unwrap().len(), 2);
    assert_eq!(Twin::OUTPUT_LEN, 3);
}

#[test]
fn a_network_too_large_to_allocate_is_counted_and_refused_with_the_bytes_it_needs() {
    assert_eq!(Unallocatable::PARAMS, 72_057_594_037_993_472);
    // Parameters and gradients, 4 bytes each (no buffers).
    let Err(error) = Unallocatable::try_new(0) else { panic!("2^58 bytes were allocated") };
    assert_eq!(error, Error::Allocation { network: "Unallocatable", bytes: 576_460_752_303_947_776 });
    assert_eq!(
        error.to_string(),
        "Unallocatable: its parameters, gradients and buffers need 576460752303947776 bytes (536870912.0 GiB), \
         which could not be allocated"
    );
    let Err(error) = <Unallocatable<f64> as Network<f64>>::try_with_seed(0) else {
        panic!("2^59 bytes were allocated")
    };
    assert_eq!(error, Error::Allocation { network: "Unallocatable", bytes: 1_152_921_504_607_895_552 });
}

#[test]
fn a_network_larger_than_memory_can_address_reports_its_exact_size() {
    assert_eq!(Unaddressable::PARAMS, 4_611_686_018_431_582_208);
    let Err(error) = Unaddressable::try_new(0) else { panic!("2^65 bytes were allocated") };
    // More than fits in 64 bits, reported exactly.
    assert_eq!(error, Error::Allocation { network: "Unaddressable", bytes: 36_893_488_147_452_657_664 });
}

#[test]
#[should_panic(
    expected = "Unallocatable: its parameters, gradients and buffers need 576460752303947776 bytes (536870912.0 GiB), \
                which could not be allocated"
)]
fn new_panics_with_the_bytes_needed_instead_of_aborting() {
    let _ = Unallocatable::new(0);
}

#[test]
#[should_panic(expected = "which could not be allocated")]
fn with_seed_panics_likewise() {
    let _ = <Unaddressable<f64> as Network<f64>>::with_seed(0);
}

#[test]
fn a_network_that_fits_constructs_either_way() {
    let net = TestOnly::try_new(5).unwrap();
    assert_eq!(net.params(), TestOnly::new(5).params());
    assert_eq!(net.grads(), [0.0; 10]);
}
