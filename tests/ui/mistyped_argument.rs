use nn::network;

network! {
    Net: [1, 28, 28] => conv(1, 6, 5, stride = 1.5)
}

fn main() {}
