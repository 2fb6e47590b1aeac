use nn::network;

network! {
    block A(c) = conv(c, c, 1) -> B(c);
    block B(c) = relu -> A(c);
    Net: [8, 8, 8] => A(8)
}

fn main() {}
