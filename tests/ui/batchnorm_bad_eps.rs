use nn::network;

network! {
    Net: [10] => batchnorm(10, eps = 0.0)
}

fn main() {}
