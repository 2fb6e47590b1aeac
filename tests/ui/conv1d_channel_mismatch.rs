use nn::network;

network! {
    Net: [C = 3, L = 100] => conv1: conv1d(3, 16, 5) -> relu -> conv1d(8, 32, 5)
}

fn main() {}
