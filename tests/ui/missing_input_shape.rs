use nn::network;

network! {
    Net => linear(784, 10)
}

fn main() {}
