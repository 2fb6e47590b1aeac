use nn::network;

network! {
    Net: [10] => upsample(2)
}

fn main() {}
