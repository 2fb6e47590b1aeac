use nn::network;

network! {
    Net: [4] => linear(4, 2) -> relu ->;
    Other: [4] => linear(4, 2)
}

fn main() {}
