use nn::network;

network! {
    Net: [10] => dropout(1.0)
}

fn main() {}
