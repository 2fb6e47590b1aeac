use nn::network;

network! {
    Net: [T = 28, F = 64] => conv1d(28, 16, 3)
}

fn main() {}
