use nn::network;

network! {
    Net: [T = 28, F = 28] => lstm(28, 64) -> gru(32, 16) -> last -> linear(16, 10)
}

fn main() {}
