use nn::network;

network! {
    block Down(cin, cout, stride) = conv(cin, cout, 3, stride = stride, padding = 1) -> relu;
    Net: [8, 8, 8] => Down(8, 16) -> Down(16, 32, 2, 1)
}

fn main() {}
