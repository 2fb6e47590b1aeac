use nn::network;

network! {
    Net: [3, 8, 8] => transpose -> flatten -> linear(192, 10)
}

fn main() {}
