use nn::network;

network! {
    Net: [1, 28, 28] => flatten -> conv(1, 6, 5)
}

fn main() {}
