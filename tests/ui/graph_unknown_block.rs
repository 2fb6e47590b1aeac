use nn::network;

network! {
    block Basic(c) = residual(conv(c, c, 3, padding = 1) -> relu);
    Net: [8, 8, 8] => Basci(8) -> Baisc(8)
}

fn main() {}
