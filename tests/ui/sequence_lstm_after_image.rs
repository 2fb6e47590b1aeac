use nn::network;

network! {
    Net: [1, 28, 28] => conv(1, 4, 3) -> relu -> lstm(4, 16) -> last -> linear(16, 10)
}

fn main() {}
