use nn::network;

network! {
    Net: [1, 28, 28] => conv(1, 6, 5) -> avgpool(2) -> conv(6, 16, 5) -> avgpool(2) -> conv(16, 120, 5)
}

fn main() {}
