use nn::network;

network! {
    Net: [C = 4, L = 50] => conv1d(4, 8, 3) -> relu -> lstm(50, 16) -> last -> linear(16, 2)
}

fn main() {}
