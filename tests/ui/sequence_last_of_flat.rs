use nn::network;

network! {
    Net: [T = 10, F = 3] => lstm(3, 8) -> last -> last
}

fn main() {}
