use nn::network;

network! {
    /// Two shape mistakes far apart: both are reported, nothing else.
    Net: [1, 28, 28] => conv(3, 8, 5) -> relu -> maxpool(2) -> conv(8, 16, 5) -> relu
        -> batchnorm(12) -> flatten -> linear(256, 10) -> linear(12, 2)
}

fn main() {}
