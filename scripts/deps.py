#!/usr/bin/env python3
"""scripts/deps.py - the file-level dependency graph of src/ and lib/, from a
build's object files; fails on an import circle.

Usage: scripts/deps.py [--build DIR] [--allowed FILE] [--source-root DIR]
                       [--quiet] [--symbols]

How it reads the graph: the build's compile_commands.json names every object
file and its source; the objects of one target sit in one "NAME.p/" folder.
A target whose sources all lie under src/ or lib/ is a unit: a static library
(libtl, libtlhost) or a program (tl, tld, tl-agent). `nm` gives each object's
defined external symbols and its undefined ones; A.c -> B.c when A.c uses a
symbol B.c defines, within one program plus the libraries (a program may use
a library, never another program). Every strongly connected component of
more than one file is a circle: the files that cannot be read, tested or
moved without each other. Static functions and header-only code (macros,
static inline) leave no symbol: they tie no files, as they should not.

Output: per unit, "UNIT: N files, M edges", then its edges ("A -> B" with
--symbols: "A -> B: sym, sym"), unless --quiet; then every circle with the
symbols on each of its edges, marked "allowed" when --allowed lists it
(one circle per line: its sorted source paths separated by spaces; '#'
starts a comment), else "NEW"; an allowed circle not found is reported as
stale (not a failure: the allow-list only shrinks).

Exit status: 0 no circle outside the allow-list, 1 a new circle, 2 bad
usage or no build (run `make build` first).
"""

import argparse
import collections
import json
import os
import subprocess
import sys

LIB_SUFFIXES = (".a", ".so")


def die(msg):
    print(f"deps: {msg}", file=sys.stderr)
    sys.exit(2)


def load_units(build, root):
    """{unit name: {source path relative to root: object path}}"""
    cc = os.path.join(build, "compile_commands.json")
    try:
        with open(cc) as f:
            entries = json.load(f)
    except (OSError, ValueError) as e:
        die(f"{cc}: {e} (run `make build` first)")
    units = collections.defaultdict(dict)
    for e in entries:
        out = e["output"]
        if ".p/" not in out:
            continue
        unit = out.split(".p/")[0]
        path = os.path.normpath(os.path.join(e["directory"], e["file"]))
        # a source the build generated (tld's compiled-in fleet page,
        # ui_assets.c) is data, not an import: left out, not the unit
        if os.path.commonpath([path, os.path.abspath(build)]) == os.path.abspath(build):
            continue
        src = os.path.relpath(path, root)
        units[unit][src] = os.path.normpath(os.path.join(e["directory"], out))
    # Only the project's own targets: every source under src/ or lib/.
    return {
        u: files
        for u, files in units.items()
        if all(s.startswith(("src/", "lib/")) for s in files)
    }


def read_symbols(objects):
    """{object: (defined set, undefined set)} from one nm run."""
    missing = [o for o in objects if not os.path.exists(o)]
    if missing:
        die(f"{missing[0]}: no such object (run `make build` first)")
    syms = {o: (set(), set()) for o in objects}
    r = subprocess.run(["nm", "-A", "-g", *objects], capture_output=True, text=True)
    if r.returncode != 0:
        die(f"nm failed: {r.stderr.strip()}")
    for line in r.stdout.splitlines():
        # "path.o:0000000000000000 T name" or "path.o:                 U name"
        obj, _, rest = line.partition(":")
        f = rest.split()
        if obj not in syms or len(f) < 2:
            continue
        kind, name = f[-2], f[-1]
        if kind == "U":
            syms[obj][1].add(name)
        elif kind not in ("w", "v"):  # a weak reference defines nothing
            syms[obj][0].add(name)
    return syms


def sccs(nodes, edges):
    """Tarjan's strongly connected components, iterative; sorted lists."""
    index, low, onstack, stack, out = {}, {}, set(), [], []
    counter = 0
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        onstack.add(start)
        while work:
            v, it = work[-1]
            pushed = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    onstack.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                    pushed = True
                    break
                if w in onstack:
                    low[v] = min(low[v], index[w])
            if pushed:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    onstack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(sorted(comp))
    return out


def load_allowed(path):
    allowed = set()
    if not path:
        return allowed
    try:
        with open(path) as f:
            for line in f:
                line = line.split("#", 1)[0].split()
                if line:
                    allowed.add(tuple(sorted(line)))
    except OSError as e:
        die(f"{path}: {e.strerror}")
    return allowed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--source-root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--allowed")
    ap.add_argument("--quiet", action="store_true", help="circles only")
    ap.add_argument("--symbols", action="store_true", help="name the symbols on every edge")
    a = ap.parse_args()

    root = os.path.abspath(a.source_root)
    units = load_units(os.path.abspath(a.build), root)
    if not units:
        die(f"{a.build}: no target built from src/ or lib/")
    libs = sorted(u for u in units if u.endswith(LIB_SUFFIXES))
    progs = sorted(u for u in units if u not in libs)
    objects = [o for files in units.values() for o in files.values()]
    syms = read_symbols(objects)
    allowed = load_allowed(a.allowed)

    # Each library alone (its own circles), then each program over the libraries.
    graphs = [(u, [u]) for u in libs] + [(p, [p] + libs) for p in progs]
    seen, new, found = set(), 0, set()
    for name, members in graphs:
        files = {s: o for u in members for s, o in units[u].items()}
        definers = collections.defaultdict(set)
        for s, o in files.items():
            for sym in syms[o][0]:
                definers[sym].add(s)
        # edges[a][b] = symbols a uses that b defines
        edges = collections.defaultdict(lambda: collections.defaultdict(set))
        for s, o in files.items():
            for sym in syms[o][1]:
                for d in definers.get(sym, ()):
                    if d != s:
                        edges[s][d].add(sym)
        own = set(units[name])
        own_edges = [(s, d) for s in sorted(own) for d in sorted(edges.get(s, {}))]
        print(f"{name}: {len(own)} files, {len(own_edges)} edges")
        if not a.quiet:
            for s, d in own_edges:
                tail = ": " + ", ".join(sorted(edges[s][d])) if a.symbols else ""
                print(f"  {s} -> {d}{tail}")
        for comp in sccs(sorted(files), edges):
            key = tuple(comp)
            if len(comp) < 2 or key in seen:
                continue
            seen.add(key)
            found.add(key)
            ok = key in allowed
            new += not ok
            print(f"  circle of {len(comp)} ({'allowed' if ok else 'NEW'}): {' '.join(comp)}")
            members_ = set(comp)
            for s in comp:
                for d in sorted(edges[s]):
                    if d in members_:
                        print(f"    {s} -> {d}: {', '.join(sorted(edges[s][d]))}")
    for key in sorted(allowed - found):
        print(f"stale allow-list entry (no longer a circle): {' '.join(key)}")
    if new:
        print(f"deps: {new} circle(s) not in {a.allowed or 'an allow-list'}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
