use nn::network;

network! {
    Net: [10] => relu(0.1)
}

fn main() {}
