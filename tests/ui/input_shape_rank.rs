use nn::network;

network! {
    Net: [28, 28] => flatten -> linear(784, 10)
}

fn main() {}
