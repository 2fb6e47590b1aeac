use nn::network;

network! {
    Net: [120] => linear(120)
}

fn main() {}
