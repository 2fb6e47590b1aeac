use nn::network;

network! {
    Net: [10] =>
}

fn main() {}
