use nn::network;

network! {
    /// Correct for Block(8, 16), wrong for Block(16, 16): its first conv takes `cin`.
    block Block(cin, cout) = conv(cin, cout, 3, padding = 1) -> batchnorm(cin) -> relu;
    Net: [8, 8, 8] => Block(8, 8) -> Block(8, 16)
}

fn main() {}
