// A quantized model for a network with no int8 form (batch norm has none yet).
use nn::network;

network! {
    #[int8_weights("../../examples/embedded/lenet5.int8")]
    Normed: [4] => linear(4, 3) -> batchnorm(3) -> relu -> linear(3, 2)
}

fn main() {}
