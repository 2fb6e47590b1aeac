use nn::network;

network! {
    Net: [4, 8, 8] => conv_transpose(4, 2, 3, stride = 2, output_padding = 2)
}

fn main() {}
