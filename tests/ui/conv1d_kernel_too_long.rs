use nn::network;

network! {
    Net: [C = 3, L = 16] => maxpool1d(2) -> conv1d(3, 8, 9)
}

fn main() {}
