#!/usr/bin/env python3
"""Seed corpora for the fuzz targets from the repository's fixtures:
check_file gets every fixture module; check_project every fixture project,
its modules joined with `//@@ path` lines (see support.rs)."""
import hashlib
import pathlib

root = pathlib.Path(__file__).resolve().parent
fixtures = root.parent / "fixtures"


def put(target, data):
    d = root / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


for case in sorted(p for p in fixtures.glob("*/*/*/convex") if p.is_dir()):
    joined = b""
    for f in sorted(case.rglob("*")):
        if f.is_file() and "_generated" not in f.parts:
            data = f.read_bytes()
            put("check_file", data)
            rel = f.relative_to(case).as_posix()
            joined += b"//@@ " + rel.encode() + b"\n" + data
    put("check_project", joined)
print("seeded", root / "corpus")
