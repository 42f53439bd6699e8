#!/usr/bin/env python3
"""Import cycles between the library's modules (files), from the sources alone.

    scripts/import_cycles.py [--allow FILE] [SRC_DIR]

Reads every .rs file under SRC_DIR (default src/), leaving out test code (files declared
under #[cfg(test)] and everything from a `#[cfg(test)] mod tests {` to the end of a file),
and makes a graph with one node per file: an edge A -> B where A names an item of B by
path (`use crate::...`, `use super::...`, or a `crate::`/`super::` path in code). A cycle
is a strongly connected component of more than one file: each file in it depends on
every other, so none can be read or changed alone.

Each cycle is printed with the edges that close it. With --allow FILE (one cycle per line,
its files sorted and joined by " <-> "; '#' starts a comment), a cycle on the list is
reported but passes, and a listed cycle that no longer exists fails too (so the list only
shrinks). Ends with "N passed, N failed" (one check per cycle found or listed, plus one
for the whole graph); exit status 1 on any failure.
"""

import os
import re
import sys

import tally

PATH = re.compile(r"\b((?:crate|super|self)(?:::(?:super|[A-Za-z_][A-Za-z0-9_]*))+)")
USE_GROUP = re.compile(r"\buse\s+((?:crate|super|self)(?:::[a-z_][a-z0-9_]*)*)::\{([^;]*)\}", re.S)
TEST_MOD = re.compile(r"#\[cfg\(test\)\]\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*;")
TEST_BLOCK = re.compile(r"#\[cfg\(test\)\]\s*mod\s+[a-z_][a-z0-9_]*\s*\{")
COMMENT = re.compile(r"//[^\n]*")
VISIBILITY = re.compile(r"pub\(in [^)]*\)")
CHILD_MOD = re.compile(r"^\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*;", re.M)


def module_of(path, src):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib"):
        rel = rel[:-1]
    return tuple(rel)


def read_files(src):
    files = {}
    for root, _, names in os.walk(src):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(root, name)
                with open(path, encoding="utf-8") as f:
                    files[module_of(path, src)] = (path, f.read())
    return files


def test_only(files):
    """Modules declared under #[cfg(test)], and everything below them."""
    out = set()
    for module, (_, text) in files.items():
        for name in TEST_MOD.findall(text):
            out.add(module + (name,))
    return {m for m in files if any(m[: len(t)] == t for t in out)}


def before_tests(text):
    """A file's text up to its `#[cfg(test)] mod tests {` block, if it has one."""
    cut = TEST_BLOCK.search(text)
    return text[: cut.start()] if cut else text


def library_text(text):
    # A visibility path (`pub(in crate::a)`) names where an item may be used, not a use.
    return VISIBILITY.sub("pub", COMMENT.sub("", before_tests(text)))


def edges_of(module, text, is_dir_module, modules):
    """(target module, the path that names it) for each module this text uses."""
    paths = [m.group(1) for m in PATH.finditer(text)]
    for m in USE_GROUP.finditer(text):
        for item in m.group(2).split(","):
            head = item.split(" as ")[0].split("::{")[0].strip()
            if head and head != "self" and re.match(r"^[A-Za-z_][A-Za-z0-9_:]*$", head):
                paths.append(m.group(1) + "::" + head)
    # A child module named without a prefix (`sender::run`, `use batch::Batch`).
    for child in CHILD_MOD.findall(text):
        if re.search(rf"(?<![:\w]){child}::", text):
            paths.append("self::" + child)
    found = set()
    for p in paths:
        parts = p.split("::")
        if parts[0] == "crate":
            full = tuple(parts[1:])
        else:
            rest, supers = parts, 0
            if rest[0] == "self":
                rest = rest[1:]
            while rest and rest[0] == "super":
                supers, rest = supers + 1, rest[1:]
            # `super` of a file module (a.rs) is its directory's module; of a
            # directory module (a/mod.rs) the one above. Either way: drop one
            # segment of the module path per `super`.
            full = tuple(list(module)[: len(module) - supers] + list(rest))
        for n in range(len(full), -1, -1):
            if full[:n] in modules:
                if full[:n] != module:
                    found.add((full[:n], p))
                break
    return found


def tarjan(nodes, graph):
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    sys.setrecursionlimit(10_000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def name(module):
    return "::".join(module) or "crate"


def main(argv):
    allow_file = None
    args = list(argv)
    if args[:1] == ["--allow"]:
        allow_file, args = args[1], args[2:]
    src = args[0] if args else "src"
    files = read_files(src)
    tests = test_only(files)
    modules = {m for m in files if m not in tests}
    graph, why = {}, {}
    for module in modules:
        path, text = files[module]
        is_dir_module = os.path.basename(path) in ("mod.rs", "lib.rs")
        for target, p in edges_of(module, library_text(text), is_dir_module, modules):
            graph.setdefault(module, set()).add(target)
            why.setdefault((module, target), p)
    cycles = tarjan(modules, graph)
    allowed = set()
    if allow_file:
        with open(allow_file, encoding="utf-8") as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line:
                    allowed.add(line)
    seen = set()
    for comp in cycles:
        key = " <-> ".join(name(m) for m in comp)
        seen.add(key)
        inside = [(a, b) for a in comp for b in sorted(graph.get(a, ())) if b in comp]
        status = "allowed" if key in allowed else "CYCLE"
        print(f"{status}: {key}")
        for a, b in inside:
            print(f"    {name(a)} -> {name(b)}  ({why[(a, b)]})")
        tally.check(key in allowed, f"{key} is not in {allow_file}", quiet=True)
    for key in sorted(allowed - seen):
        tally.check(False, f"STALE: {key} is listed in {allow_file} but is no longer a cycle: take it off the list")
    edges = sum(len(v) for v in graph.values())
    print(f"import_cycles: {len(modules)} files, {edges} edges, {len(cycles)} cycle(s)")
    if tally.failed == 0:
        tally.check(True, "no import cycle beyond the listed ones", quiet=True)
    return tally.summary()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
