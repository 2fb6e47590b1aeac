//! Networks may take the names the generated code once gave its own helper types
//! (`Conv0`, `Pool1`…), and prelude names the generated code uses as values.

use nn::network;

network! {
    Conv0: [1, 8, 8] => conv(1, 2, 3);
    Pool1: [1, 8, 8] => conv(1, 1, 1) -> maxpool(2);
    Depthwise0: [2, 8, 8] => separable_conv(2, 4, 3);
    Pointwise0: [2, 8, 8] => separable_conv(2, 4, 3);
    ConvTranspose0: [1, 4, 4] => conv_transpose(1, 1, 2, stride = 2);
    Some: [4] => linear(4, 2) -> relu -> linear(2, 2);
    None: [4] => linear(4, 2) -> relu -> linear(2, 2);
    Network: [4] => linear(4, 2);
    Float: [4] => linear(4, 2);
    Vec: [4] => linear(4, 2)
}

fn main() {
    assert_eq!(Conv0::PARAMS, 20);
    assert_eq!(Pool1::OUTPUT_SHAPE, [1, 4, 4]);
    assert_eq!(Depthwise0::PARAMS, Pointwise0::PARAMS);
    assert_eq!(ConvTranspose0::OUTPUT_SHAPE, [1, 8, 8]);
    let mut net = Some::new(0);
    let output = nn::Network::forward(&mut net, &[1.0; 4]).unwrap().to_vec();
    assert_eq!(output.len(), 2);
    let _ = (None::PARAMS, Network::PARAMS, Float::PARAMS, Vec::PARAMS);
}
