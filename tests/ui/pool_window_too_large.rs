use nn::network;

network! {
    Net: [2, 3, 3] => maxpool(4)
}

fn main() {}
