//! A crate that denies missing documentation can declare public networks: every
//! public item the macro generates is documented.
#![deny(missing_docs)]

use nn::network;

network! {
    /// A documented public network.
    pub Mlp: [784] => linear(784, 32) -> relu -> linear(32, 10);
    /// Another, with layers that generate items of their own.
    pub Image: [1, 8, 8] => conv(1, 2, 3) -> maxpool(2) -> separable_conv(2, 4, 3, padding = 1)
        -> conv_transpose(4, 2, 2) -> flatten -> linear(32, 2)
}

fn main() {
    let _ = (Mlp::PARAMS, Image::PARAMS);
}
