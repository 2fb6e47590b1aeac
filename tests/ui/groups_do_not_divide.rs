use nn::network;

network! {
    Net: [4, 8, 8] => conv(4, 6, 3, groups = 4)
}

fn main() {}
