use nn::network;

network! {
    Net: [1, 28, 28] => conv(1, 6, 5, padding = (1, -1))
}

fn main() {}
