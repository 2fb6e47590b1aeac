// Networks with embedded weights at the edges: a raw identifier, two names that differ
// only in case, lowercase names under `deny(warnings)` (the user allows theirs; the
// generated types add no warning of their own), and a network configured out
// whose weight file does not exist (it must not be read).
#![deny(warnings)]

use nn::network;

network! {
    #[allow(non_camel_case_types)]
    #[weights("../fixtures/linear_4_2.safetensors")]
    r#loop: [4] => linear(4, 2);
    #[weights("../fixtures/linear_4_2.safetensors")]
    TinyA: [4] => linear(4, 2);
    #[weights("../fixtures/linear_4_2.safetensors")]
    Tinya: [4] => linear(4, 2);
    #[allow(non_camel_case_types)]
    #[weights("../fixtures/linear_4_2.safetensors")]
    lowercase: [4] => linear(4, 2) -> relu;
    #[cfg(any())]
    #[weights("../fixtures/missing.safetensors")]
    #[int8_weights("../fixtures/missing.int8")]
    Gone: [4] => linear(4, 2)
}

fn main() {
    let mut memory = loopMemory::new();
    let zeros = loopInference::EMBEDDED.forward(&mut memory, &[1.0; 4]);
    assert_eq!(zeros, &[0.0; 2]);
    let _ = (TinyAInference::EMBEDDED, TinyaInference::EMBEDDED, lowercaseInference::EMBEDDED);
    let _ = lowercaseInt8::SIZES;
}
