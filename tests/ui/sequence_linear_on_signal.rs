use nn::network;

network! {
    Net: [C = 4, L = 100] => linear(4, 8)
}

fn main() {}
