use nn::network;

network! {
    Net: [4, 2, 2] => batchnorm(4, momentum = 1.5)
}

fn main() {}
