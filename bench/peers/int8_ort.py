"""ONNX Runtime's int8 LeNet-5 beside ours (bench/int8.sh): the same trained weights
(examples/embedded/lenet5.safetensors), exported from PyTorch to ONNX, quantized with
onnxruntime.quantization.quantize_static (QDQ, weights int8 per channel, activations
int8 per tensor, MinMax calibration on the same 1,000 training digits), then accuracy on
the same 2,000 held-out digits and the time per digit, one at a time and in batches of
256, for the f32 and the int8 model, one thread.

    python int8_ort.py DIR        (DIR: what `cargo run --example int8 -- --out DIR` wrote)
"""

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).parent))
from nets import build_torch  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


class Digits(CalibrationDataReader):
    def __init__(self, images):
        self.batches = iter([{"input": images[i : i + 1]} for i in range(len(images))])

    def get_next(self):
        return next(self.batches, None)


def session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def median_seconds(f, rounds=5, min_s=0.3):
    f()
    times = []
    for _ in range(rounds):
        start, calls = time.perf_counter(), 0
        while calls < 1 or time.perf_counter() - start < min_s:
            f()
            calls += 1
        times.append((time.perf_counter() - start) / calls)
    return statistics.median(times)


def main():
    data = Path(sys.argv[1])
    calibration = np.fromfile(data / "calibration.f32", dtype="<f4").reshape(-1, 1, 32, 32)
    test = np.fromfile(data / "test.f32", dtype="<f4").reshape(-1, 1, 32, 32)
    labels = np.fromfile(data / "test.labels", dtype=np.uint8)
    torch.set_num_threads(1)
    model = build_torch("lenet5").eval()
    model.load_state_dict(load_file(str(ROOT / "examples/embedded/lenet5.safetensors")))
    result = {"onnxruntime": ort.__version__}
    with tempfile.TemporaryDirectory() as tmp:
        f32_path, int8_path = Path(tmp) / "lenet5.onnx", Path(tmp) / "lenet5_int8.onnx"
        torch.onnx.export(model, (torch.zeros(2, 1, 32, 32),), str(f32_path), input_names=["input"],
                          output_names=["logits"], dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False)
        quantize_static(str(f32_path), str(int8_path), Digits(calibration), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
        result["int8_file_bytes"] = int8_path.stat().st_size
        result["f32_file_bytes"] = f32_path.stat().st_size
        for name, path in [("f32", f32_path), ("int8", int8_path)]:
            s = session(path)
            logits = np.concatenate([s.run(None, {"input": test[i : i + 256]})[0] for i in range(0, len(test), 256)])
            result[f"{name}_accuracy"] = float((logits.argmax(1) == labels).mean())
            singles = [test[i : i + 1] for i in range(len(test))]
            result[f"{name}_us"] = 1e6 * median_seconds(lambda: [s.run(None, {"input": x}) for x in singles]) / len(test)
            batches = [test[i : i + 256] for i in range(0, len(test), 256)]
            result[f"{name}_batched_us"] = 1e6 * median_seconds(lambda: [s.run(None, {"input": b}) for b in batches]) / len(test)
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
