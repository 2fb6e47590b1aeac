use nn::network;

network! {
    Net: [3, 8, 8] => conv(3, 16, 3) -> batchnorm(8)
}

fn main() {}
