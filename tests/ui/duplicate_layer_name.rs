use nn::network;

network! {
    Net: [784] => fc: linear(784, 10) -> relu -> fc: linear(10, 10)
}

fn main() {}
