"""Writes a stand-in for Mulan's delicious in its files' format (DIR/delicious-train.arff, delicious-test.arff,
delicious.xml), for checking that the validation procedure runs on data of delicious's shape: 500 binary features,
983 labels, 12,920 / 3,185 rows, about 19 labels per row (Mulan's label cardinality, 19.02). Delicious itself is not
in ../shared and not reachable offline. The rows are drawn from a topic model (each row mixes 2 of 60 topics; a topic
has its own Zipf-like distributions over words and labels), so features predict labels and P@1 means something, but
no accuracy on it says anything about delicious: it checks that the procedure runs, how long it takes and how much
memory it needs.

    python3 bench/delicious_standin.py DIR [--seed 1] [--scale 1.0]

--scale multiplies the row counts (0.1 for a quick check).
"""

import argparse
import os

import numpy as np

FEATURES, LABELS, TRAIN, TEST, TOPICS = 500, 983, 12920, 3185, 60
WORDS_PER_ROW, LABELS_PER_ROW = 18, 19


def zipf_rows(rng, count, size):
    """`count` distributions over `size` items, each a Zipf(1) law over its own random order of the items."""
    weights = 1.0 / np.arange(1, size + 1)
    rows = np.zeros((count, size))
    for row in rows:
        row[rng.permutation(size)] = weights
    return rows / rows.sum(1, keepdims=True)


def draw(rng, rows, words, tags):
    """`rows` (feature indices, label indices) pairs: two topics per row, a Poisson number of distinct words and tags
    from their mean distribution."""
    for _ in range(rows):
        topics = rng.choice(TOPICS, 2, replace=False)
        w, t = words[topics].mean(0), tags[topics].mean(0)
        n_w = min(FEATURES, max(1, rng.poisson(WORDS_PER_ROW)))
        n_t = min(LABELS, max(1, rng.poisson(LABELS_PER_ROW)))
        yield np.sort(rng.choice(FEATURES, n_w, replace=False, p=w)), np.sort(rng.choice(LABELS, n_t, replace=False, p=t))


def write_arff(path, pairs):
    with open(path, "w") as f:
        f.write("@relation delicious-standin\n\n")
        for i in range(FEATURES):
            f.write(f"@attribute w{i} {{0,1}}\n")
        for j in range(LABELS):
            f.write(f"@attribute TAG_{j} {{0,1}}\n")
        f.write("\n@data\n")
        for features, labels in pairs:
            entries = [f"{i} 1" for i in features] + [f"{FEATURES + j} 1" for j in labels]
            f.write("{" + ",".join(entries) + "}\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0)
    options = parser.parse_args()
    rng = np.random.RandomState(options.seed)
    words, tags = zipf_rows(rng, TOPICS, FEATURES), zipf_rows(rng, TOPICS, LABELS)
    os.makedirs(options.dir, exist_ok=True)
    for name, rows in (("train", TRAIN), ("test", TEST)):
        write_arff(os.path.join(options.dir, f"delicious-{name}.arff"), draw(rng, round(rows * options.scale), words, tags))
    with open(os.path.join(options.dir, "delicious.xml"), "w") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n<labels xmlns="http://mulan.sourceforge.net/labels">\n')
        f.writelines(f'<label name="TAG_{j}"></label>\n' for j in range(LABELS))
        f.write("</labels>\n")


if __name__ == "__main__":
    main()
