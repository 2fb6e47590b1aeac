use nn::network;

network! {
    Net: [28, 28] => lstm(28, 64) -> last -> linear(64, 10)
}

fn main() {}
