#!/usr/bin/env python3
"""The layering of src/ (docs/architecture.md), checked on every #include: a file may include
headers of its own layer and of the layers below it, never above. Above the boards, a file
sees a board or an engine only through its seam (board/board.h, engine/engine.h): no include
of board/riscv/..., board/x86/..., engine/kvm/..., engine/rv64/... and no call of a riscv_*,
x86_*, rv64_* or kvm_* function. One board or engine never includes another's files.

Prints one FAIL line per violation and ends with "N passed, N failed" (a pass per file)."""

import os
import re
import sys

# bottom to top
LAYERS = ["base", "mem", "bus", "engine", "backend", "dev", "virtio", "state", "board", "vm",
          "api", "host", "cluster", "image", "cli"]
RANK = {name: i for i, name in enumerate(LAYERS)}
SEAM_USERS = {"vm", "api", "host", "cluster", "image", "cli"}  # above the seams
SPECIFIC = re.compile(r'^(board|engine)/(riscv|x86|kvm|rv64)/')
CALL = re.compile(r'\b(riscv|x86|rv64|kvm)_[a-z0-9_]+\s*\(')
INCLUDE = re.compile(r'\s*#\s*include\s+"([^"]+)"')
STRING = re.compile(r'"(\\.|[^"\\])*"')


def check(path, layer, sub):
    problems = []
    with open(os.path.join(ROOT, path), errors="replace") as f:
        text = f.read()
    for n, line in enumerate(text.split("\n"), 1):
        m = INCLUDE.match(line)
        if m:
            inc = m.group(1)
            dep = inc.split("/")[0]
            if dep not in RANK:
                problems.append("%s:%d: includes %s, which is in no layer" % (path, n, inc))
            elif RANK[dep] > RANK[layer]:
                problems.append("%s:%d: includes %s from a layer above (%s over %s)"
                                % (path, n, inc, dep, layer))
            s = SPECIFIC.match(inc)
            if s and layer in SEAM_USERS:
                problems.append("%s:%d: includes %s: use %s/%s.h (the seam)"
                                % (path, n, inc, s.group(1), s.group(1)))
            if s and dep == layer and sub and s.group(2) != sub:
                problems.append("%s:%d: %s/%s includes another's file %s" % (path, n, layer, sub, inc))
        code = STRING.sub('""', line)
        if layer in SEAM_USERS and not code.lstrip().startswith(("*", "/*", "//")):
            for c in CALL.finditer(code):
                problems.append("%s:%d: calls %s...(): board- and engine-specific code is "
                                "reached through board.h / engine.h" % (path, n, c.group(0)[:-1].strip()))
    return problems


ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main():
    root = os.path.join(ROOT, "src")
    passed = failed = 0
    for d, _, files in sorted(os.walk(root)):
        for f in sorted(files):
            if not f.endswith((".c", ".h")):
                continue
            path = os.path.join(d, f)
            rel = os.path.relpath(path, root).split(os.sep)
            layer = rel[0]
            sub = rel[1] if len(rel) > 2 else None
            if layer not in RANK:
                print("FAIL %s: src/%s is in no layer (add it to LAYERS)" % (path, layer))
                failed += 1
                continue
            problems = check(os.path.relpath(path, os.path.join(root, "..")), layer, sub)
            for p in problems:
                print("FAIL " + p)
            failed += bool(problems)
            passed += not problems
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
