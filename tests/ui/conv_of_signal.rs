use nn::network;

network! {
    Net: [C = 4, L = 100] => conv(4, 8, 3)
}

fn main() {}
