use nn::network;

network! {
    Net: [4294967296, 4294967296, 4294967296] => relu
}

fn main() {}
