use nn::network;

network! {
    Net: [3, 32, 32] => conv(3, 6, 5) -> maxpool(2) -> linear(1176, 10)
}

fn main() {}
