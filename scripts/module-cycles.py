#!/usr/bin/env python3
"""Lists import cycles between the modules of each crate: `use crate::a::…` (or `crate::a::` in a
path) in module `b` is an edge b -> a. Submodules count as their top-level module (`event::json`
is `event`), except that a module's own children are not edges. Exits 1 when a crate has a cycle.

    scripts/module-cycles.py [CRATE_SRC_DIR …]   # default: every crate's src/ in the workspace
"""
import os
import re
import sys

EDGE = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")


def top_module(src, path):
    rel = os.path.relpath(path, src)
    parts = rel[:-3].split(os.sep)
    if parts[-1] in ("mod", "lib", "main") and len(parts) > 1:
        parts = parts[:-1]
    if parts == ["lib"] or parts == ["main"]:
        return None
    return parts[0]


def strip_comments_and_tests(text):
    text = text.split("#[cfg(test)]")[0]
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))


def cycles(src):
    edges = {}
    for root, _, files in os.walk(src):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(root, name)
            module = top_module(src, path)
            if module is None:
                continue
            text = strip_comments_and_tests(open(path, encoding="utf-8").read())
            for target in EDGE.findall(text):
                if target != module:
                    edges.setdefault(module, set()).add(target)
    found = []
    state = {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [])
    return found


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    top = os.path.dirname(here)
    dirs = sys.argv[1:] or [
        os.path.join(top, d, "src")
        for d in ("core", "protocol", "local", "shims/lambda", "shims/proxy")
    ]
    bad = False
    for src in dirs:
        found = cycles(src)
        name = os.path.relpath(os.path.dirname(src), top)
        if found:
            bad = True
            for cycle in found:
                print("%s: %s" % (name, " -> ".join(cycle)))
        else:
            print("%s: no module cycles" % name)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
