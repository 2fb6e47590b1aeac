// A file that is not in the safetensors format.
use nn::network;

network! {
    #[weights("fixtures/not_safetensors.safetensors")]
    Tiny: [4] => linear(4, 3)
}

fn main() {
    let _ = TinyInference::EMBEDDED;
}
