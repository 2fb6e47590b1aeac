use nn::network;

network! {
    Net: [T = 10, F = 8] => lstm(8, 16, layers = 5000, bidirectional = true) -> last -> linear(32, 2)
}

fn main() {}
