use nn::network;

network! {
    Net: [T = 5, F = 3] => rnn(3, 4, nonlinearity = sigmoid) -> lstm(4, 2, nonlinearity = relu)
}

fn main() {}
