use nn::network;

network! {
    Net: [6, 4, 4] => conv_transpose(6, 4, 3, groups = 3)
}

fn main() {}
