use nn::network;

network! {
    Net: [16, 8, 8] => scale(conv(16, 4, 1) -> relu -> conv(4, 16, 1) -> sigmoid)
}

fn main() {}
