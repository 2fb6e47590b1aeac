use nn::network;

network! {
    Net: [1, 9, 9] => maxpool(2, ceil_mode = 1) -> avgpool(2, ceil_mode = ceil)
}

fn main() {}
