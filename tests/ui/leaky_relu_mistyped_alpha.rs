use nn::network;

network! {
    Net: [10] => leaky_relu(alpha = true)
}

fn main() {}
