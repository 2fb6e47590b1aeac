use nn::network;

network! {
    Net: [3, 32, 32] => conv(3, 16, 3, stride = 2, padding = same) -> relu;
    // A pooling's stride defaults to its window.
    Pooled: [16, 16, 16] => maxpool(3, padding = same)
}

fn main() {}
