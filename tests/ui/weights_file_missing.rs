// A weight file that is not there: the path is relative to this source file.
use nn::network;

network! {
    #[weights("fixtures/lenet5.safetensors")]
    Tiny: [4] => linear(4, 3)
}

fn main() {
    let _ = TinyInference::EMBEDDED;
}
