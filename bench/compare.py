#!/usr/bin/env python3
"""Print our figures beside the peers' and the ratios, as a Markdown table.

    python3 bench/compare.py OURS.json PEERS.json [--threads 1] [--recorded]

OURS.json comes from `cargo run --release --example bench -- --json OURS.json`;
PEERS.json from bench/peers/run_python_peers.py (--out DIR: DIR/python-peers.json; the
recorded run is bench/peers/results/python-peers.json). --recorded says in the heading that
the peers' figures come from an earlier run.
"""

import json
import sys

LABEL = {"torch-eager": "PyTorch eager", "torch-compile": "torch.compile", "jax": "JAX jit", "onnxruntime": "ONNX Runtime"}


def median(cell):
    return cell["images_per_s"]["median"] if cell else None


def main():
    args = sys.argv[1:]
    if "-h" in args or "--help" in args:
        print(__doc__.strip())
        return
    threads = 1
    recorded = "--recorded" in args
    if recorded:
        args.remove("--recorded")
    if "--threads" in args:
        i = args.index("--threads")
        threads = int(args[i + 1])
        del args[i:i + 2]
    if len(args) != 2:
        sys.exit(__doc__.strip())
    ours_path, peers_path = args
    ours = {r["net"]: r for r in json.load(open(ours_path))}
    peers = json.load(open(peers_path))
    runs = [r for r in peers["runs"] if r.get("net") and r["threads"] == threads]
    when = "recorded earlier, not in this run" if recorded else "in the same run of bench/run.sh"
    print(f"Peers measured {peers.get('date', '?')} ({when}). "
          f"{threads} thread(s), images/s, ratio = ours / best peer.\n")
    print("| network | what | nn | best peer | ratio | " + " | ".join(LABEL.values()) + " |")
    print("|---|---|---|---|---|" + "---|" * len(LABEL))
    for net, mine in ours.items():
        rows = [(f"train b{b}", median(mine["train"].get(str(b))), str(b)) for b in (1, 8, 32, 128)]
        rows.append(("infer 10k/256", median(mine["infer"]), None))
        for what, value, batch in rows:
            by_peer = {}
            for r in runs:
                if r["net"] != net:
                    continue
                cell = r.get("train", {}).get(batch) if batch else r.get("infer")
                if cell:
                    by_peer[r["peer"]] = median(cell)
            if not by_peer:
                continue
            best_peer = max(by_peer, key=by_peer.get)
            best = by_peer[best_peer]
            cells = [f"{by_peer[p]:,.0f}" if p in by_peer else "—" for p in LABEL]
            print(f"| {net} | {what} | {value:,.0f} | {best:,.0f} ({LABEL[best_peer]}) | **{value / best:.2f}×** | "
                  + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
