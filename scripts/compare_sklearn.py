#!/usr/bin/env python3
"""Our purchase models beside scikit-learn's on the same matrix and split.

Reads the CSV that `server export-features` writes (the exact training
matrix, labels and each client's first visit) and makes the split training
makes: clients ordered by (first_visit_at, client_id), the latest quarter
held out. Fits scikit-learn's HistGradientBoostingClassifier with default
settings and its LogisticRegression (the original system's model) on the
earlier three quarters, and prints their hold-out ROC AUC, PR AUC (average
precision) and Brier score. With --db, also prints the figures our newest
training stored for both of its models (same hold-out).

    python3 scripts/compare_sklearn.py features.csv [--db bench.db]
"""

import argparse
import csv
import json
import sqlite3
import sys
import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HOLDOUT_SHARE = 0.25


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    if header[:3] != ["client_id", "cutoff", "first_visit_at"] or header[-1] != "bought":
        sys.exit(f"{path}: not an export-features CSV (header {header[:3]} … {header[-1]})")
    keys = [(int(r[2]), int(r[0])) for r in body]
    x = np.array([[float(v) for v in r[3:-1]] for r in body])
    y = np.array([int(r[-1]) for r in body])
    order = sorted(range(len(body)), key=lambda i: keys[i])
    return x[order], y[order]


def report(name, y, scores, probabilities, seconds=None):
    took = f"  fit {seconds:.2f} s" if seconds is not None else ""
    print(
        f"{name:<46} ROC AUC {roc_auc_score(y, scores):.4f}  PR AUC {average_precision_score(y, scores):.4f}"
        f"  Brier {brier_score_loss(y, probabilities):.4f}{took}"
    )


def slices(x_train, y_train, x_test, y_test):
    """How much one forest's figures depend on the tenth it does not see,
    and what averaging two forests that leave out different tenths gives
    (ours averages offsets 0 and 5)."""
    scores = {}
    for offset in range(10):
        seen = [0, 0]
        keep = []
        for i, label in enumerate(y_train):
            seen[label] += 1
            if seen[label] % 10 != offset:
                keep.append(i)
        model = HistGradientBoostingClassifier(learning_rate=0.2, max_iter=50, early_stopping=False, random_state=0)
        model.fit(x_train[keep], y_train[keep])
        scores[offset] = model.decision_function(x_test)
        report(f"scikit-learn trees without tenth {offset}", y_test, scores[offset], 1 / (1 + np.exp(-scores[offset])))
    for a in range(5):
        p = (scores[a] + scores[a + 5]) / 2
        report(f"scikit-learn trees, tenths {a} and {a + 5} averaged", y_test, p, 1 / (1 + np.exp(-p)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("csv")
    parser.add_argument("--db", help="the SQLite database whose newest training to show")
    parser.add_argument(
        "--slices",
        action="store_true",
        help="also: scikit-learn's trees (50 steps of 0.2, no early stop) on each of the ten "
        "'every tenth set aside' slices our training can make, and averaged in the pairs ours uses",
    )
    args = parser.parse_args()
    x, y = load(args.csv)
    # Half rounds up, as Rust's f64::round does (Python's round() goes to even).
    split = int(np.floor(len(y) * (1 - HOLDOUT_SHARE) + 0.5))
    x_train, y_train, x_test, y_test = x[:split], y[:split], x[split:], y[split:]
    print(
        f"{len(y)} clients: {split} to learn ({y_train.sum()} buyers), "
        f"{len(y) - split} held out ({y_test.sum()} buyers)"
    )
    # Default settings draw a random validation slice for early stopping,
    # and the figures move with it: five seeds, each shown, then their mean.
    figures = []
    for seed in range(5):
        model = HistGradientBoostingClassifier(random_state=seed)
        started = time.perf_counter()
        model.fit(x_train, y_train)
        seconds = time.perf_counter() - started
        p = model.predict_proba(x_test)[:, 1]
        report(f"scikit-learn HistGradientBoosting, seed {seed}", y_test, p, p, seconds)
        figures.append((roc_auc_score(y_test, p), average_precision_score(y_test, p), brier_score_loss(y_test, p)))
    roc, pr, brier = (sum(f[i] for f in figures) / len(figures) for i in range(3))
    print(f"{'scikit-learn HistGradientBoosting, mean of 5':<46} ROC AUC {roc:.4f}  PR AUC {pr:.4f}  Brier {brier:.4f}")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    started = time.perf_counter()
    model.fit(x_train, y_train)
    seconds = time.perf_counter() - started
    p = model.predict_proba(x_test)[:, 1]
    report("scikit-learn LogisticRegression", y_test, p, p, seconds)
    if args.slices:
        slices(x_train, y_train, x_test, y_test)
    if args.db:
        db = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
        rows = db.execute(
            "SELECT id, algorithm, active, metrics FROM models "
            "WHERE trained_at = (SELECT MAX(trained_at) FROM models) ORDER BY id"
        ).fetchall()
        for model_id, algorithm, active, metrics in rows:
            m = json.loads(metrics)
            mark = " (active)" if active else ""
            print(
                f"{'ours #' + str(model_id) + ' ' + algorithm + mark:<46} ROC AUC {m['roc_auc']:.4f}  "
                f"PR AUC {m['pr_auc']:.4f}  Brier {m['brier']:.4f}  fit {m['seconds']:.2f} s"
            )
        if rows:
            m = json.loads(rows[0][3])
            print(
                f"{'visit count alone (baseline)':<46} ROC AUC {m['baseline_roc_auc']:.4f}  "
                f"PR AUC {m['baseline_pr_auc']:.4f}"
            )


if __name__ == "__main__":
    main()
