use nn::prelude::*;

network! {
    /// LeNet-5 (LeCun et al., 1998).
    pub LeNet5: [1, 32, 32] => conv(1, 6, 5) -> tanh -> avgpool(2)
        -> conv(6, 16, 5) -> tanh -> avgpool(2) -> conv(16, 120, 5) -> tanh
        -> flatten -> linear(120, 84) -> tanh -> linear(84, 10)
}

#[test]
fn lenet5_counts() {
    assert_eq!(LeNet5::PARAMS, 61_706);
    assert_eq!(LeNet5::INPUT_SHAPE, [1, 32, 32]);
    assert_eq!(LeNet5::OUTPUT_SHAPE, [10]);
    println!("{}", LeNet5::summary());
    let mut net = LeNet5::new(0);
    let x = vec![0.5f32; 3 * 1024];
    let y = net.forward(&x).unwrap();
    assert_eq!(y.len(), 30);
    let mut opt = Sgd::new(0.1);
    let loss = net.train_step(&x, &[1, 2, 3], &SoftmaxCrossEntropy, &mut opt).unwrap();
    println!("{loss}");
}
