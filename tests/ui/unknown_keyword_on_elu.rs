use nn::network;

network! {
    Net: [10] => elu(alpha = 1.0, beta = 2.0)
}

fn main() {}
