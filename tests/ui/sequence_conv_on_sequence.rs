use nn::network;

network! {
    Net: [T = 8, F = 4] => conv(4, 8, 3)
}

fn main() {}
