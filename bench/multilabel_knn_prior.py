"""Screen (training rows only, PyTorch): does training a network on top of the neighbour component beat blending the
two afterwards? A stand-in network, not SDLGM: one hidden layer of 512 (ReLU, dropout 0.5) on l2-normalised rows,
softmax cross-entropy to each row's label set normalised to sum 1 (the first-choice distribution), Adam 1e-3, batch
128, 26 epochs, 3 seeds averaged. Its logits get gamma log(q + 1e-3) added, q the tf-idf neighbour distribution of
docs/neighbours.md (K = 10, weights cos^4; leave-one-out on the training part), in training and in prediction;
gamma = 0 is the network alone, followed by the post-hoc blend (1 - alpha) p + alpha q. The validation procedure's 5
folds of TRAIN.h5; pooled P@1 printed after each fold.

    python3 bench/multilabel_knn_prior.py bench/out/ml/bibtex-train.h5
"""

import os
import sys

import h5py
import numpy as np
import torch
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.preprocessing import normalize

from multilabel_validation import ENSEMBLE_FOLDS, fold_file
from sparsekit import BENCH_DIR, read_csr

K, EPOCHS, SEEDS = 10, 26, 3


def neighbour_distribution(part_x, part_y, rows_x, leave_one_out=False):
    """q: the K most tf-idf-cosine-similar rows of the part, weights cos^4, each row's labels normalised to sum 1."""
    tfidf = TfidfTransformer().fit(part_x)
    a, b = normalize(tfidf.transform(part_x)), normalize(tfidf.transform(rows_x))
    similarity = (b @ a.T).toarray()
    if leave_one_out:
        np.fill_diagonal(similarity, -1)
    nearest = np.argpartition(-similarity, K, axis=1)[:, :K]
    weights = np.maximum(np.take_along_axis(similarity, nearest, 1), 0) ** 4
    labels = part_y[nearest]
    labels = labels / np.maximum(labels.sum(2, keepdims=True), 1)
    q = (weights[:, :, None] * labels).sum(1)
    return q / np.maximum(q.sum(1, keepdims=True), 1e-12)


def fit_stand_in(x_part, target, seed, width=512, epochs=EPOCHS, offset_part=None, schedule=None, rate=1e-3):
    """The stand-in network (one hidden layer of `width`, ReLU, dropout 0.5) trained by Adam (`rate`, times
    `schedule(fraction of training done)` at each epoch when given) in minibatches of 128 on the softmax cross-entropy
    to `target` (its logits plus `offset_part` when given); returned in evaluation mode."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(x_part.shape[1], width), torch.nn.ReLU(), torch.nn.Dropout(0.5),
                              torch.nn.Linear(width, target.shape[1]))
    adam = torch.optim.Adam(net.parameters(), rate)
    for epoch in range(epochs):
        if schedule is not None:
            for group in adam.param_groups:
                group["lr"] = rate * schedule(epoch / epochs)
        net.train()
        order = torch.randperm(len(x_part))
        for start in range(0, len(x_part), 128):
            batch = order[start:start + 128]
            logits = net(x_part[batch]) + (0 if offset_part is None else offset_part[batch])
            loss = -(target[batch] * torch.log_softmax(logits, 1)).sum(1).mean()
            adam.zero_grad()
            loss.backward()
            adam.step()
    return net.eval()


def train_and_predict(x_part, target, offset_part, x_held, offset_held, seed):
    net = fit_stand_in(x_part, target, seed, offset_part=offset_part)
    with torch.no_grad():
        return torch.softmax(net(x_held) + offset_held, 1).numpy()


def read_folds(train):
    """The validation procedure's 5 folds of TRAIN.h5: (features, labels as a dense array, l2-normalised rows,
    {split name: row indices})."""
    dataset = os.path.basename(train).removesuffix("-train.h5")
    folds = fold_file(train, os.path.join(BENCH_DIR, "out", "screen"), dataset)
    with h5py.File(folds, "r") as f:
        x, y = read_csr(f, "features"), read_csr(f, "labels")
        splits = {k: f["splits/" + k][:] for k in f["splits"]}
    return x, y.toarray().astype(np.float64), normalize(x.astype(np.float64)), splits


def main():
    torch.set_num_threads(2)
    x, labels, rows, splits = read_folds(sys.argv[1])
    hits, seen = {}, 0
    for i in range(1, ENSEMBLE_FOLDS + 1):
        part, held = splits[f"fold{i}-train"], splits[f"fold{i}-valid"]
        q_part = neighbour_distribution(x[part], labels[part], x[part], leave_one_out=True)
        q_held = neighbour_distribution(x[part], labels[part], x[held])
        tensor = lambda a: torch.tensor(a, dtype=torch.float32)
        target = tensor(labels[part] / np.maximum(labels[part].sum(1, keepdims=True), 1))
        x_part, x_held = tensor(rows[part].toarray()), tensor(rows[held].toarray())
        truth = labels[held] > 0
        count = lambda p: truth[np.arange(len(held)), p.argmax(1)].sum()
        for gamma, alphas in ((0.0, (0.2, 0.3, 0.4)), (0.5, (0.1, 0.2)), (1.0, (0.1, 0.2))):
            offset_part, offset_held = tensor(gamma * np.log(q_part + 1e-3)), tensor(gamma * np.log(q_held + 1e-3))
            p = np.mean([train_and_predict(x_part, target, offset_part, x_held, offset_held, seed)
                         for seed in range(SEEDS)], 0)
            hits[f"gamma {gamma}"] = hits.get(f"gamma {gamma}", 0) + count(p)
            for alpha in alphas:
                key = f"gamma {gamma}, then blend alpha {alpha}"
                hits[key] = hits.get(key, 0) + count((1 - alpha) * p + alpha * q_held)
        seen += len(held)
        print(f"after fold {i}: " + ", ".join(f"{k} {v / seen:.4f}" for k, v in hits.items()), flush=True)


if __name__ == "__main__":
    main()
