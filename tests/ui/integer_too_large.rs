use nn::network;

network! {
    Net: [784] => linear(784, 99999999999999999999)
}

fn main() {}
