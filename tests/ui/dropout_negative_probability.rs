use nn::network;

network! {
    Net: [10] => dropout(-0.1)
}

fn main() {}
