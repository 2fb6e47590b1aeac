use nn::network;

network! {
    Net: [T = 4, F = 3] => lstm(3, 4611686018427387904) -> last
}

fn main() {}
