use nn::network;

network! {
    Net: [10] => linear(10, 0)
}

fn main() {}
