use nn::network;

network! {
    Net: [3, 28, 28] => separable_conv(1, 8, 3)
}

fn main() {}
