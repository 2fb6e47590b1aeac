//! LeNet-5 on a Cortex-M4F, without `std` and without an allocator: the weights are in
//! flash (embedded by `#[weights(..)]` when this compiled), the working memory one
//! `static` in RAM. Classifies the embedded test digits and prints, over semihosting,
//! one line per digit and a summary — the lines `examples/embedded_host.rs` prints on the
//! host, which `tools/embedded.sh` compares. With `--features int8` the network runs in
//! int8, its quantized model embedded by `#[int8_weights(..)]`; the linker keeps only
//! the model the program uses.
//!
//!     cd examples/embedded && cargo run --release [--features int8]    # needs qemu-system-arm

#![no_std]
#![no_main]

mod model;

use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use panic_semihosting as _;

#[cfg(not(feature = "int8"))]
use model::{LeNet5Inference as Network, LeNet5Memory as Memory};
#[cfg(feature = "int8")]
use model::{LeNet5Int8 as Network, LeNet5Int8Memory as Memory};

#[entry]
fn main() -> ! {
    // cortex-m-rt hands these to `main` as `&'static mut`: in `.bss`, not on the stack.
    static mut MEMORY: Memory = Memory::new();
    static mut INPUT: [f32; 1024] = [0.0; 1024];
    let net = Network::EMBEDDED;
    hprintln!(
        "LeNet-5 ({}) on a Cortex-M4F: {} bytes of weights in flash, {} bytes of working memory",
        if cfg!(feature = "int8") { "int8" } else { "f32" },
        Network::WEIGHT_BYTES,
        Network::MEMORY_BYTES
    );
    model::classify_all(INPUT, |input| *net.forward(MEMORY, input), |line| hprintln!("{}", line));
    debug::exit(debug::EXIT_SUCCESS);
    // Under a debugger the program may resume after the exit request.
    loop {
        cortex_m::asm::wfi();
    }
}
