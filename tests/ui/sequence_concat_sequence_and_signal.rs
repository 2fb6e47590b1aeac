use nn::network;

network! {
    Net: [T = 8, F = 4] => concat(lstm(4, 4), transpose)
}

fn main() {}
