#!/usr/bin/env python3
"""Writes examples/embedded/digits.bin: the first N digits of the held-out MNIST set
(data/mnist10k, the 2,000 that examples/lenet5.rs tests on), each as its label byte then
its 28×28 pixel bytes, row-major, for the embedded example to classify.

    python3 tools/embedded_digits.py [N (300)]
"""
import gzip
import struct
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
images = gzip.open(root / "data/mnist10k/mnist10k-test-images-idx3-ubyte.gz").read()
labels = gzip.open(root / "data/mnist10k/mnist10k-test-labels-idx1-ubyte.gz").read()
magic, n, rows, cols = struct.unpack(">IIII", images[:16])
assert magic == 2051 and (rows, cols) == (28, 28) and count <= n, (magic, n, rows, cols)
assert struct.unpack(">II", labels[:8]) == (2049, n)
out = bytearray()
for i in range(count):
    out.append(labels[8 + i])
    out += images[16 + i * 784 : 16 + (i + 1) * 784]
(root / "examples/embedded/digits.bin").write_bytes(out)
print(f"wrote {count} digits ({len(out)} bytes) to examples/embedded/digits.bin")
