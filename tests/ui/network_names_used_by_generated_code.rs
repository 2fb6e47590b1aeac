use nn::network;

// Each of these names means something in the code the macro generates beside the
// network; each is one error at the name, and nothing else.
network! {
    F: [4] => linear(4, 2);
    rt: [4] => linear(4, 2);
    f32: [4] => linear(4, 2);
    usize: [4] => linear(4, 2);
    __Conv0: [1, 8, 8] => conv(1, 2, 3)
}

fn main() {}
