#!/usr/bin/env python3
"""Writes the weight files the compile-error tests (tests/ui/weights_*.rs) embed:
safetensors files that do not fit their network in every way `#[weights(..)]` reports.
Standard library only.

    python3 tools/ui_weight_fixtures.py
"""
import json
import struct
from pathlib import Path

SIZES = {"F32": 4, "F16": 2, "I64": 8, "F64": 8}


def write(path, tensors):
    """tensors: (key, dtype, shape) in file order, zero-filled."""
    header, offset = {}, 0
    for key, dtype, shape in tensors:
        n = SIZES[dtype]
        for d in shape:
            n *= d
        header[key] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + bytes(offset))


out = Path(__file__).resolve().parent.parent / "tests/ui/fixtures"
out.mkdir(parents=True, exist_ok=True)
# For `Tiny: [4] => linear(4, 3) -> relu -> fc: linear(3, 2) -> batchnorm(2)`.
write(
    out / "tiny_mismatch.safetensors",
    [
        ("0.weight", "F32", [3, 5]),  # mis-shaped: the layer takes 4 inputs
        ("0.bias", "F16", [3]),  # an element type `load` refuses
        ("fc.bias", "F32", [2]),  # fc.weight is missing
        ("3.weight", "F32", [2]),
        ("3.bias", "F32", [2]),
        ("3.running_mean", "F32", [2]),
        ("3.running_var", "F32", [2]),
        ("3.num_batches_tracked", "F32", []),  # PyTorch writes I64
        ("2.weight", "F32", [2, 3]),  # unexpected: the file's own name for fc
        ("head.bias", "F32", [2]),  # unexpected
    ],
)
# Fits `linear(4, 2)`: the compile-pass cases embed it.
write(out / "linear_4_2.safetensors", [("0.weight", "F32", [2, 4]), ("0.bias", "F32", [2])])
(out / "not_safetensors.safetensors").write_bytes(b"a text file, not a weight file\n")
print(f"wrote the fixtures in {out}")
