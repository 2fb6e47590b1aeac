use nn::prelude::*;

network! {
    /// The user made one mistake here; code below that uses the network must not add
    /// errors of its own.
    Net: [1, 28, 28] => conv(1, 8, 5) -> relu -> conv(6, 16, 5) -> flatten -> linear(6400, 10)
}

fn main() {
    let mut net = Net::new(0);
    let x = vec![0.0f32; Net::INPUT_LEN];
    let logits = net.forward(&x).unwrap();
    let _ = logits.len() + Net::PARAMS + Net::OUTPUT_SHAPE.len();
    let mut sgd = Sgd::new(0.1);
    net.train_step(&x, &[1usize], &SoftmaxCrossEntropy, &mut sgd).unwrap();
    println!("{}", Net::summary());
}
