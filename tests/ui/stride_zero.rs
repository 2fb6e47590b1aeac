use nn::network;

network! {
    Net: [1, 8, 8] => maxpool(2, stride = 0)
}

fn main() {}
