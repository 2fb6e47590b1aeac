use nn::network;

network! {
    Net: [1, 8, 8] => conv(1, 2, (1.5, 2))
}

fn main() {}
