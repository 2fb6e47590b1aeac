use nn::network;

network! {
    Net: [1, 1, 1] => conv(1, 1, (4294967296, 4294967296), padding = (4294967296, 4294967296))
}

fn main() {}
