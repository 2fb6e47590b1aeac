use nn::network;

network! {
    Net: [T = 20, F = 8] => batchnorm(8) -> lstm(8, 16)
}

fn main() {}
