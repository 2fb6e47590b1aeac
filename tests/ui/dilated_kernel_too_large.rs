use nn::network;

network! {
    Net: [1, 8, 8] => conv(1, 2, 3, dilation = 4)
}

fn main() {}
