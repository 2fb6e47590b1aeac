use nn::network;

network! {
    Net: [784] => avgpool(2)
}

fn main() {}
