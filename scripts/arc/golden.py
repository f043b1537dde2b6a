#!/usr/bin/env python3
"""Golden fixtures for the Go ARC task (trm/task/arc*.go) and the ARC voting (trm/infer/arc.go).

The official ARC dataset builder (dataset/build_arc_dataset.py) and evaluator
(evaluators/arc.py) of SamsungSAILMontreal/TinyRecursiveModels, re-implemented
here from their documented behaviour (not copied), driven by numpy's legacy
global RNG seeded as the official builder (np.random.seed(seed)) so that the
Go port, which re-implements that generator, must give the same bytes:

  * subsets in the order given; puzzles of a subset in the file's key order,
    shuffled with np.random.shuffle; test outputs from the *_solutions.json file;
  * each puzzle's examples in the order of its JSON keys ("test" comes first in
    the Kaggle files); the test-set subset sends its "test" pairs to the test
    split and its "train" pairs to the train split, other subsets send all to train;
  * augmentations: up to 5*num_aug tries of (randint(0, 8) dihedral id,
    [0] + permutation(1..9) colour map), a try kept when the multiset of
    (input, output) grid hashes of the augmented puzzle is new; names
    "<id>|||t<tid>|||<10 digits>";
  * identifiers: 0 blank, then by first appearance over the train split, then test;
  * encoding: grid + 2 in a 30x30 canvas at (pad_r, pad_c), the end-of-grid
    marker 1 on the row below the grid (grid columns) and the column right of it
    (grid rows); per puzzle no_aug_id = randint(0, #examples) drawn in every
    split, and in the train split every other example translated by
    randint(0, 30 - max(h_in, h_out) + 1), randint(0, 30 - max(w_in, w_out) + 1).

Evaluation: crop = the largest top-left rectangle of colour tokens scanned row
by row with a shrinking width; inverse augmentation; predictions grouped per
(task, input hash), ranked by (votes, mean sigmoid(q)) descending, stable;
pass@k per task = mean over its test inputs, averaged over tasks.

Run with Debian's python3 (numpy): /usr/bin/python3 scripts/arc/golden.py
Writes testdata/arc/golden/*.json.
"""
import hashlib
import json
import math
import os

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DATA = os.path.join(ROOT, "testdata", "arc")
OUT = os.path.join(DATA, "golden")
N = 30
SEP = "|||"


def to_np(g):
    a = np.array(g, dtype=np.int64)
    assert a.ndim == 2 and a.shape[0] <= N and a.shape[1] <= N and ((a >= 0) & (a <= 9)).all()
    return a.astype(np.uint8)


def dihedral(a, t):
    return [lambda x: x, lambda x: np.rot90(x, 1), lambda x: np.rot90(x, 2), lambda x: np.rot90(x, 3),
            np.fliplr, np.flipud, lambda x: x.T, lambda x: np.fliplr(np.rot90(x, 1))][t](a)


INV = [0, 3, 2, 1, 4, 5, 6, 7]


def ghash(g):
    return hashlib.sha256(bytes([g.shape[0], g.shape[1]]) + np.ascontiguousarray(g).tobytes()).hexdigest()


def phash(dests):
    hs = sorted(f"{ghash(i)}|{ghash(o)}" for ex in dests.values() for i, o in ex)
    return hashlib.sha256("|".join(hs).encode()).hexdigest()


def encode(inp, out, translate):
    if translate:
        pr = np.random.randint(0, N - max(inp.shape[0], out.shape[0]) + 1)
        pc = np.random.randint(0, N - max(inp.shape[1], out.shape[1]) + 1)
    else:
        pr = pc = 0
    seqs = []
    for g in (inp, out):
        h, w = g.shape
        c = np.zeros((N, N), dtype=np.uint8)
        c[pr:pr + h, pc:pc + w] = g + 2
        if pr + h < N:
            c[pr + h, pc:pc + w] = 1
        if pc + w < N:
            c[pr:pr + h, pc + w] = 1
        seqs.append(c.flatten())
    return seqs


def build(subsets, test_set, num_aug, seed):
    np.random.seed(seed)
    splits = {}  # split -> list of groups; group = list of (name, examples)
    test_tasks = {}
    for sub in subsets:
        with open(os.path.join(DATA, f"arc-agi_{sub}_challenges.json")) as f:
            tasks = json.load(f)
        with open(os.path.join(DATA, f"arc-agi_{sub}_solutions.json")) as f:
            sols = json.load(f)
        for tid, t in tasks.items():
            for i, s in enumerate(sols[tid]):
                t["test"][i]["output"] = s
        items = list(tasks.items())
        np.random.shuffle(items)
        for name, t in items:
            if sub == test_set:
                test_tasks[name] = t
            dest = {"train": "train", "test": "test" if sub == test_set else "train"}
            conv = {}
            for kind, exs in t.items():
                conv.setdefault(dest[kind], []).extend((to_np(e["input"]), to_np(e["output"])) for e in exs)
            group = [(name, conv)]
            seen = {phash(conv)}
            for _ in range(5 * num_aug):
                trans = np.random.randint(0, 8)
                mp = np.concatenate([np.arange(0, 1, dtype=np.uint8), np.random.permutation(np.arange(1, 10, dtype=np.uint8))])
                aname = f"{name}{SEP}t{trans}{SEP}{''.join(str(x) for x in mp)}"
                aug = {d: [(dihedral(mp[i], trans), dihedral(mp[o], trans)) for i, o in exs] for d, exs in conv.items()}
                h = phash(aug)
                if h not in seen:
                    seen.add(h)
                    group.append((aname, aug))
                if len(group) >= num_aug + 1:
                    break
            for d in (["train", "test"] if "train" in conv and "test" in conv else list(conv)):
                splits.setdefault(d, []).append([(n, c[d]) for n, c in group])
    ids = {}
    for d in ("train", "test"):
        for g in splits.get(d, []):
            for n, _ in g:
                ids.setdefault(n, len(ids) + 1)
    out = {"identifiers": ["<blank>"] + sorted(ids, key=ids.get), "splits": {}}
    for d in ("train", "test"):
        res = {"example_sha256": [], "puzzle_identifiers": [], "puzzle_indices": [0], "group_indices": [0], "first": None}
        n_ex = n_pz = 0
        for g in splits.get(d, []):
            for n, exs in g:
                keep = np.random.randint(0, len(exs))
                for k, (i, o) in enumerate(exs):
                    si, so = encode(i, o, d == "train" and k != keep)
                    res["example_sha256"].append(hashlib.sha256(si.tobytes() + so.tobytes()).hexdigest())
                    if res["first"] is None:
                        res["first"] = {"input": si.tolist(), "label": so.tolist()}
                    n_ex += 1
                res["puzzle_indices"].append(n_ex)
                res["puzzle_identifiers"].append(ids[n])
                n_pz += 1
            res["group_indices"].append(n_pz)
        out["splits"][d] = res
    return out, test_tasks


def crop(seq):
    g = np.asarray(seq).reshape(N, N)
    best, size, nc = 0, (0, 0), N
    for r in range(1, N + 1):
        for c in range(1, nc + 1):
            x = g[r - 1, c - 1]
            if x < 2 or x > 11:
                nc = c - 1
                break
        if r * nc > best:
            best, size = r * nc, (r, nc)
    return (g[:size[0], :size[1]] - 2).astype(np.uint8)


def inverse(name):
    if SEP not in name:
        return name, lambda g: g
    trans, perm = name.split(SEP)[-2:]
    inv = np.argsort(list(perm)).astype(np.uint8)
    return name.split(SEP)[0], lambda g: inv[dihedral(g, INV[int(trans[1:])])]


def vote(identifiers, test_tasks, examples, ks=(1, 2, 5)):
    """examples: list of (puzzle_id, input seq, pred seq, q logit)."""
    grids, preds = {}, {}
    for pid, inp, pred, q in examples:
        orig, f = inverse(identifiers[pid])
        ih = ghash(f(crop(inp)))
        p = f(crop(pred))
        ph = ghash(p)
        grids[ph] = p
        preds.setdefault(orig, {}).setdefault(ih, []).append((ph, 1 / (1 + math.exp(-q))))
    sub, correct = {}, [0.0] * len(ks)
    for name, t in test_tasks.items():
        sub[name] = []
        nc = [0] * len(ks)
        for pair in t["test"]:
            ih, lh = ghash(to_np(pair["input"])), ghash(to_np(pair["output"]))
            pm = {}
            for h, q in preds.get(name, {}).get(ih, []):
                pm.setdefault(h, [0, 0.0])
                pm[h][0] += 1
                pm[h][1] += q
            if not pm:
                sub[name].append(None)
                continue
            for s in pm.values():
                s[1] /= s[0]
            ranked = sorted(pm.items(), key=lambda kv: kv[1], reverse=True)
            for i, k in enumerate(ks):
                nc[i] += any(h == lh for h, _ in ranked[:k])
            att = [grids[h].tolist() for h, _ in ranked[:2]]
            while len(att) < 2:
                att.append(att[0])
            sub[name].append({"attempt_1": att[0], "attempt_2": att[1],
                              "ranking": [[h, s[0], s[1]] for h, s in ranked]})
        for i in range(len(ks)):
            correct[i] += nc[i] / len(t["test"])
    return {f"pass@{k}": correct[i] / len(test_tasks) for i, k in enumerate(ks)}, sub


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = [("training_evaluation_aug8", ["training", "evaluation"], 8, 42),
             ("training_evaluation_aug0", ["training", "evaluation"], 0, 42),
             ("evaluation_aug30_seed7", ["evaluation"], 30, 7)]
    for name, subsets, aug, seed in cases:
        out, test_tasks = build(subsets, "evaluation", aug, seed)
        out.update({"subsets": subsets, "test_set": "evaluation", "num_aug": aug, "seed": seed})
        # Hand-made predictions for the voting: rebuild the test split's examples and,
        # for each, choose a prediction by a rule the Go test replays from "kind".
        rng = np.random.RandomState(1234 + aug)
        exs = test_examples(subsets, aug, seed)
        preds = []
        for j, (pid, si, so) in enumerate(exs):
            kind = int(rng.choice(4, p=[0.25, 0.2, 0.35, 0.2]))  # exact, recoloured, input, marker
            q = float(np.round(rng.normal(), 3))
            cell = int(rng.randint(0, N * N))
            colour = int(rng.randint(2, 12))
            p = so.copy()
            if kind == 1:  # one cell recoloured, where it is a colour
                if 2 <= p[cell] <= 11:
                    p[cell] = colour
            elif kind == 2:  # the input copied
                p = si.copy()
            elif kind == 3:  # an end-of-grid marker dropped in
                p[cell] = 1
            preds.append({"kind": kind, "cell": cell, "colour": colour, "q": q})
            exs[j] = (pid, si, p, q)
        scores, sub = vote(out["identifiers"], test_tasks, exs)
        out["votes"] = {"predictions": preds, "scores": scores, "submission": sub}
        with open(os.path.join(OUT, name + ".json"), "w") as f:
            json.dump(out, f, separators=(",", ":"))
        print(name, len(out["identifiers"]), {d: len(s["example_sha256"]) for d, s in out["splits"].items()}, scores)


def test_examples(subsets, aug, seed):
    """The test split's (puzzle id, input, label) in order (a second build, same seed)."""
    global encode
    keep = []
    orig = encode

    def rec(i, o, t):
        s = orig(i, o, t)
        keep.append(s)
        return s
    encode = rec
    try:
        out, _ = build(subsets, "evaluation", aug, seed)
    finally:
        encode = orig
    ntrain = len(out["splits"]["train"]["example_sha256"])
    test = keep[ntrain:]
    res, k = [], 0
    ind, pids = out["splits"]["test"]["puzzle_indices"], out["splits"]["test"]["puzzle_identifiers"]
    for p in range(len(pids)):
        for e in range(ind[p], ind[p + 1]):
            res.append((pids[p], test[e][0], test[e][1]))
    return res


if __name__ == "__main__":
    main()
