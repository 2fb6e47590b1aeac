//! Networks of unusual shapes: ending in a view, starting with one, chains of views.

use nn::prelude::*;

network! {
    EndsInFlatten: [2, 3, 3] => conv(2, 4, 3, padding = 1) -> relu -> flatten;
    ViewsOnly: [2, 2, 1] => flatten -> identity;
    ConvPaddingWiderThanKernel: [1, 2, 2] => conv(1, 1, 1, padding = 2) -> flatten -> linear(36, 2)
}

#[test]
fn a_network_may_end_in_a_view() {
    let mut net = EndsInFlatten::new(0);
    assert_eq!(EndsInFlatten::OUTPUT_SHAPE, [36]);
    let x = vec![0.5f32; 2 * 18];
    let y = net.forward(&x).unwrap().to_vec();
    assert_eq!(y.len(), 72);
    let grad = net.backward(&x, &vec![1.0; 72]).unwrap();
    assert_eq!(grad.len(), 36);
}

#[test]
fn a_network_of_views_copies_its_input() {
    let mut net = ViewsOnly::new(0);
    assert_eq!(ViewsOnly::PARAMS, 0);
    let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
    assert_eq!(net.forward(&x).unwrap(), &x);
    assert_eq!(net.backward(&x, &[1.0; 8]).unwrap(), &[1.0; 8]);
}

#[test]
fn padding_wider_than_the_kernel_is_zeros() {
    let mut net = ConvPaddingWiderThanKernel::<f64>::with_seed(0);
    let y = net.forward(&[1.0, 2.0, 3.0, 4.0]).unwrap().to_vec();
    assert!(y.iter().all(|v| v.is_finite()));
}

#[test]
fn batch_norm_on_one_value_per_channel_is_an_error_in_training_only() {
    network! { Norm: [3] => linear(3, 4) -> batchnorm(4) }
    let mut net = Norm::new(0);
    let err = net.forward(&[1.0, 2.0, 3.0]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Norm: batch norm layer 1 sees one value per channel in this batch; in train mode it needs more than one \
         (use a batch of at least 2, or eval mode)"
    );
    assert!(net.forward(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).is_ok());
    net.eval();
    assert!(net.forward(&[1.0, 2.0, 3.0]).is_ok());
}
