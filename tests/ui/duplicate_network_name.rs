use nn::network;

network! {
    Net: [4] => linear(4, 2);
    Other: [4] => linear(4, 3);
    Net: [4] => linear(4, 3);
    Other: [4] => linear(4, 5) -> relu
}

fn main() {
    // The first `Net` is declared: using it adds no error.
    let _ = Net::PARAMS;
}
