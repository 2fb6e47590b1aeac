use nn::network;

network! {
    Net: [3, 4, 4] => separable_conv(3, 8, 5)
}

fn main() {}
