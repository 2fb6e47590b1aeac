use nn::network;

network! {
    Net: [10] => linear(10, 5, true, 7)
}

fn main() {}
