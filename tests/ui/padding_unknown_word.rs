use nn::network;

network! {
    Net: [1, 9, 9] => conv(1, 4, 3, padding = full)
}

fn main() {}
