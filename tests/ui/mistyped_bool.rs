use nn::network;

network! {
    Net: [10] => linear(10, 5, bias = 1)
}

fn main() {}
