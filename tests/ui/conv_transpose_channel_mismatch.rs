use nn::network;

network! {
    Net: [4, 8, 8] => conv_transpose(3, 2, 3)
}

fn main() {}
