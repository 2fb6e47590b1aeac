use nn::network;

network! {
    Net: [1, 8, 8] => upsample((2, 0))
}

fn main() {}
