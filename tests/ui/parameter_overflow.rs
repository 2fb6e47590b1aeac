use nn::network;

network! {
    Net: [4294967296] => linear(4294967296, 4294967296) -> linear(4294967296, 4294967296)
}

fn main() {}
