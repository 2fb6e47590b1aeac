use nn::network;

network! {
    Net: [1, 1, 28, 28] => flatten -> linear(784, 10)
}

fn main() {}
