use nn::network;

network! {
    Net: [1, 8, 8] => maxpool(2, padding = 2)
}

fn main() {}
