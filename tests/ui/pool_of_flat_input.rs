use nn::network;

network! {
    Net: [784] => linear(784, 100) -> relu -> maxpool(2)
}

fn main() {}
