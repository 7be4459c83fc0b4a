"""Prints a convex-audit JSON report (stdin) as diffable lines: one header
line per folder, then `rule<TAB>function<TAB>file:line` per finding."""
import json
import sys

repo, folder, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
report = json.load(sys.stdin)
summary = report["summary"]
where = folder[len(prefix):]
print(f"# {repo} {where}: {summary['functions']} functions, "
      f"{len(report['findings'])} findings, {len(report['errors'])} errors")
for f in report["findings"]:
    print(f"{f['rule']}\t{f['function']}\t{f['file'][len(prefix):]}:{f['line']}")
