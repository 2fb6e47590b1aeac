// A weight file that does not fit the network: every missing, extra, mis-shaped and
// mistyped tensor is listed (tools/ui_weight_fixtures.py writes the file).
use nn::network;

network! {
    #[weights("fixtures/tiny_mismatch.safetensors")]
    Tiny: [4] => linear(4, 3) -> relu -> fc: linear(3, 2) -> batchnorm(2)
}

fn main() {
    let _ = TinyInference::EMBEDDED;
}
