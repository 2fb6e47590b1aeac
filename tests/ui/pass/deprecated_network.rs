//! A `#[deprecated]` network warns where the user names it, never from the code the
//! macro generates for it.
#![deny(deprecated)]

use nn::network;

network! {
    /// Superseded.
    #[deprecated = "use `New`"]
    pub Old: [1, 8, 8] => conv(1, 2, 3) -> maxpool(2) -> flatten -> linear(18, 2);
    /// The replacement.
    pub New: [4] => linear(4, 2)
}

fn main() {
    let _ = New::PARAMS;
}
