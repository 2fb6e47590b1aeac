use nn::network;

network! {
    Net: [64] => linear(64, 32) -> prelu(64)
}

fn main() {}
