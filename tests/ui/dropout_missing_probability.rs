use nn::network;

network! {
    Net: [10] => dropout
}

fn main() {}
