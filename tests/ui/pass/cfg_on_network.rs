//! `#[cfg]` on a network configures out everything generated for it, not the struct
//! alone: a network only some builds need can be declared.

use nn::network;

network! {
    /// Never compiled.
    #[cfg(any())]
    Never: [1, 8, 8] => conv(1, 2, 3) -> maxpool(2) -> flatten -> linear(18, 2);
    /// Only in test builds (trybuild builds this as a binary: not one of them).
    #[cfg(test)]
    TestOnly: [4] => linear(4, 2);
    /// Configured out through `cfg_attr`, beside attributes that stay on the struct.
    #[cfg_attr(not(test), derive(Debug), cfg(any()))]
    Conditional: [4] => linear(4, 2);
    /// Compiled: a `cfg` that holds.
    #[cfg(not(any()))]
    Always: [4] => linear(4, 2);
    /// Compiled; its `cfg_attr` adds only a derive.
    #[cfg_attr(all(), derive(Debug))]
    Derived: [4] => linear(4, 2);
    /// Two networks of one name, one configured out: the one this build keeps…
    #[cfg(not(test))]
    Twin: [4] => linear(4, 2);
    /// … and the test build's.
    #[cfg(test)]
    Twin: [4] => linear(4, 3)
}

fn main() {
    assert_eq!(Always::PARAMS, 10);
    assert_eq!(Twin::OUTPUT_LEN, 2);
    let _ = format!("{:?}", std::any::type_name::<Derived>());
}
