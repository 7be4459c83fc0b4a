"""Scores convex-audit on hand-labelled backends (docs/labelling.md).

Usage: scripts/score.py LABELS_DIR FINDINGS_FILE...
FINDINGS_FILE holds the lines `scripts/realworld.sh scripts/labelled.txt`
prints. For missing-auth and missing-ownership-check it prints true and false
positives and misses per backend and in total, then lists every miss, every
false positive and every finding on a function nobody labelled."""
import collections
import csv
import pathlib
import sys

LABELLED_RULES = {
    "missing-auth": lambda row: row["auth"] == "open",
    "missing-ownership-check": lambda row: row["ownership"] == "missing",
}


def read_labels(folder):
    labels = {}
    for path in sorted(pathlib.Path(folder).glob("*.tsv")):
        repo = path.stem.replace("+", "/", 1)
        lines = [l for l in path.read_text().splitlines() if l and not l.startswith("#")]
        for row in csv.DictReader(lines, delimiter="\t"):
            labels[(repo, row["dir"].strip("/"), row["function"])] = row
    return labels


def read_findings(paths):
    found = collections.defaultdict(set)
    folder = None
    for path in paths:
        for line in open(path):
            line = line.rstrip("\n")
            if line.startswith("# "):
                repo, where = line[2:].split(": ")[0].split(" ", 1)
                folder = (repo, where.split("/", 1)[1] if "/" in where else "")
            elif line and folder:
                rule, function, _ = line.split("\t")
                found[(folder[0], folder[1], function)].add(rule)
    return found


def main():
    labels = read_labels(sys.argv[1])
    found = read_findings(sys.argv[2:])
    repos = sorted({k[0] for k in labels})
    print("rule\trepo\tTP\tFP\tmiss")
    details = []
    for rule, expected in LABELLED_RULES.items():
        total = [0, 0, 0]
        for repo in repos:
            tp = fp = fn = 0
            for key, row in labels.items():
                if key[0] != repo:
                    continue
                want, got = expected(row), rule in found.get(key, ())
                tp += want and got
                fp += got and not want
                fn += want and not got
                if want != got:
                    kind = "miss" if want else "false positive"
                    details.append(f"{rule}\t{kind}\t{repo} {key[1]} {key[2]}\t{row['note']}")
            print(f"{rule}\t{repo}\t{tp}\t{fp}\t{fn}")
            total = [total[0] + tp, total[1] + fp, total[2] + fn]
        tp, fp, fn = total
        precision = f"{tp / (tp + fp):.0%}" if tp + fp else "-"
        recall = f"{tp / (tp + fn):.0%}" if tp + fn else "-"
        print(f"{rule}\tTOTAL\t{tp}\t{fp}\t{fn}\tprecision {precision}\trecall {recall}")
    print()
    print("\n".join(details))
    unlabelled = sorted(
        f"{rule}\t{k[0]} {k[1]} {k[2]}"
        for k, rules in found.items()
        if k not in labels and k[0] in repos
        for rule in rules
        if rule in LABELLED_RULES
    )
    if unlabelled:
        print("\nfindings on unlabelled functions:")
        print("\n".join(unlabelled))
    others = collections.Counter(r for k, rules in found.items() if k[0] in repos for r in rules
                                 if r not in LABELLED_RULES)
    if others:
        print("\nother rules (review by hand):", dict(sorted(others.items())))


main()
