use nn::network;

network! {
    Net: [784] linear(784, 10)
}

fn main() {}
