use nn::network;

network! {
    Net: [T = 20, F = 8] => linear(6, 4) -> relu -> last -> batchnorm(4) -> linear(5, 2)
}

fn main() {}
