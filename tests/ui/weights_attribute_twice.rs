// One weight file per network.
use nn::network;

network! {
    #[weights("fixtures/a.safetensors")]
    #[weights("fixtures/b.safetensors")]
    Tiny: [4] => linear(4, 3)
}

fn main() {}
