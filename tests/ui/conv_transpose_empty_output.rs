use nn::network;

network! {
    Net: [4, 1, 1] => conv_transpose(4, 2, 1, padding = 1)
}

fn main() {}
