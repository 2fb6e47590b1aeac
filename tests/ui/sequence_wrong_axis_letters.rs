use nn::network;

network! {
    Net: [T = 28, C = 28] => lstm(28, 64)
}

fn main() {}
