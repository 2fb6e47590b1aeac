use nn::network;

network! {
    Net: [8, 28, 28] => concat(conv(8, 16, 1), conv(8, 16, 3), maxpool(3, stride = 1, padding = 1))
}

fn main() {}
