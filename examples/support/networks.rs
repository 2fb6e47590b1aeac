//! The networks the benchmark and the profiling examples measure, defined once: LeNet-5,
//! the course notes' Keras network (8,586 parameters) and a 784-256-128-10 MLP, as the
//! peer scripts in bench/peers define them.

use nn::network;

network! {
    pub LeNet5: [1, 32, 32] => conv(1, 6, 5) -> tanh -> avgpool(2)
        -> conv(6, 16, 5) -> tanh -> avgpool(2) -> conv(16, 120, 5) -> tanh
        -> flatten -> linear(120, 84) -> tanh -> linear(84, 10);
    pub KerasNet: [1, 28, 28] => conv(1, 8, 7, stride = 2) -> conv(8, 16, 5, stride = 2) -> conv(16, 32, 3)
        -> global_avgpool -> flatten -> linear(32, 10);
    pub Mlp: [784] => linear(784, 256) -> relu -> linear(256, 128) -> relu -> linear(128, 10)
}
