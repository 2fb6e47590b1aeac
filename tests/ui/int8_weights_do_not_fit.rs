// A quantized model made for another network: its name and every array's length differ.
use nn::network;

network! {
    #[int8_weights("../../examples/embedded/lenet5.int8")]
    Tiny: [4] => linear(4, 3) -> relu -> linear(3, 2)
}

fn main() {
    let _ = TinyInt8::EMBEDDED;
}
