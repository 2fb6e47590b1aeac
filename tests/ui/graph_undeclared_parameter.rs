use nn::network;

network! {
    block Down(cin, stride) = conv(cin, cout, 3, stride = stride, padding = (k - 1) / 2);
    Net: [8, 8, 8] => Down(8, 2)
}

fn main() {}
