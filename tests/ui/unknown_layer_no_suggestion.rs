use nn::network;

network! {
    Net: [784] => dense(784, 10)
}

fn main() {}
