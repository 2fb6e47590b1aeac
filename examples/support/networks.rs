//! The networks the benchmark and the profiling examples measure, defined once (and
//! tests/graph.rs checks this ResNet-18): LeNet-5, the course notes' Keras network (8,586
//! parameters), a 784-256-128-10 MLP, the row-by-row MNIST LSTM, ResNet-18 and the small
//! Fashion-MNIST ResNet, as the peer scripts in bench/peers define them.

use nn::network;

network! {
    pub LeNet5: [1, 32, 32] => conv(1, 6, 5) -> tanh -> avgpool(2)
        -> conv(6, 16, 5) -> tanh -> avgpool(2) -> conv(16, 120, 5) -> tanh
        -> flatten -> linear(120, 84) -> tanh -> linear(84, 10);
    pub KerasNet: [1, 28, 28] => conv(1, 8, 7, stride = 2) -> conv(8, 16, 5, stride = 2) -> conv(16, 32, 3)
        -> global_avgpool -> flatten -> linear(32, 10);
    pub Mlp: [784] => linear(784, 256) -> relu -> linear(256, 128) -> relu -> linear(128, 10);
    /// MNIST read row by row (28 steps of 28 pixels), as `bench/peers/graph_seq_peers.py lstm`.
    pub RowLstm: [T = 28, F = 28] => lstm(28, 128) -> last -> linear(128, 10)
}

network! {
    /// torchvision's BasicBlock without and with its projection shortcut (SPEC §5).
    block Basic(c) = residual(
            conv1: conv(c, c, 3, padding = 1, bias = false) -> bn1: batchnorm(c) -> relu
            -> conv2: conv(c, c, 3, padding = 1, bias = false) -> bn2: batchnorm(c))
        -> relu;
    block Down(cin, cout, stride) = residual(
            conv1: conv(cin, cout, 3, stride = stride, padding = 1, bias = false) -> bn1: batchnorm(cout) -> relu
            -> conv2: conv(cout, cout, 3, padding = 1, bias = false) -> bn2: batchnorm(cout),
            shortcut = downsample: (conv(cin, cout, 1, stride = stride, bias = false) -> batchnorm(cout)))
        -> relu;

    /// torchvision's `resnet18()`: its state dict loads with no renaming.
    pub ResNet18: [3, 224, 224] => conv1: conv(3, 64, 7, stride = 2, padding = 3, bias = false)
        -> bn1: batchnorm(64) -> relu -> maxpool: maxpool(3, stride = 2, padding = 1)
        -> layer1: (Basic(64) -> Basic(64))
        -> layer2: (Down(64, 128, 2) -> Basic(128))
        -> layer3: (Down(128, 256, 2) -> Basic(256))
        -> layer4: (Down(256, 512, 2) -> Basic(512))
        -> avgpool: global_avgpool -> flatten -> fc: linear(512, 1000);

    /// The small ResNet of the Fashion-MNIST experiment (bench/peers/fashion_resnet_torch.py
    /// trains the same model in PyTorch).
    pub SmallResNet: [1, 28, 28] => conv1: conv(1, 16, 3, padding = 1, bias = false) -> bn1: batchnorm(16) -> relu
        -> layer1: Basic(16) -> layer2: Down(16, 32, 2) -> layer3: Down(32, 64, 2)
        -> avgpool: global_avgpool -> flatten -> fc: linear(64, 10)
}
