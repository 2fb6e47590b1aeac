use nn::network;

network! {
    /// The body halves the size and doubles the channels; the shortcut is the input.
    Net: [64, 56, 56] => residual(conv(64, 128, 3, stride = 2, padding = 1) -> relu -> conv(128, 128, 3, padding = 1))
        -> relu
}

fn main() {}
