use nn::network;

network! {
    Net: [1, 28, 28] => conv1: conv(1, 8, 5) -> relu -> conv(6, 16, 5)
}

fn main() {}
