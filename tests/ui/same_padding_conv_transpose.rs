use nn::network;

network! {
    Net: [8, 7, 7] => conv_transpose(8, 4, 3, padding = same)
}

fn main() {}
