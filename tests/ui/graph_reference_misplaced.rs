use nn::network;

network! {
    Net: [1, 8, 8] => enc: conv(1, 4, 3, padding = 1) -> relu -> enc -> conv(4, 4, 1)
}

fn main() {}
