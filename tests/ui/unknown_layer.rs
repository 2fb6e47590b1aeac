use nn::network;

network! {
    Net: [1, 28, 28] => convv(1, 6, 5) -> relu
}

fn main() {}
