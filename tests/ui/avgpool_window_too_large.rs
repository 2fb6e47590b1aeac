use nn::network;

network! {
    Net: [4, 2, 9] => avgpool((3, 2))
}

fn main() {}
