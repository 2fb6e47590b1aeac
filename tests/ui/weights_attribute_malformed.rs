// `#[weights]` takes the file's path as a string in parentheses.
use nn::network;

network! {
    #[weights = "fixtures/tiny.safetensors"]
    Tiny: [4] => linear(4, 3)
}

fn main() {}
