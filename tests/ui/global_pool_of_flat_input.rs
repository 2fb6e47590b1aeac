use nn::network;

network! {
    Net: [10] => global_avgpool
}

fn main() {}
