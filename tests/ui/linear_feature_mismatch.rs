use nn::network;

network! {
    LeNet5: [1, 32, 32] => conv(1, 6, 5) -> tanh -> avgpool(2)
        -> conv(6, 16, 5) -> tanh -> avgpool(2) -> flatten -> linear(120, 84)
}

fn main() {}
