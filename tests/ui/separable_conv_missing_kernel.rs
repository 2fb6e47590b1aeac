use nn::network;

network! {
    Net: [3, 8, 8] => separable_conv(3, 8)
}

fn main() {}
