#!/usr/bin/env python3
"""Reports import cycles between the modules of a Rust crate, and between its
top-level folders.

    python3 tools/module-cycles.py [CRATE_SRC ...]     (default: every crate's src/)

A module depends on another when its code (comments and doc comments aside) names
a path into it: `crate::a::b`, `super::x`, or a `use` group such as
`use crate::{a, b::c}`. A `mod` declaration is not a dependency. Test code counts:
a test that reaches back up into a module that depends on it is a cycle too.
Exits 1 if any cycle is found, printing each one.
"""

import re
import sys
from pathlib import Path


def strip_comments(text):
    """Code without // and /* */ comments (string literals are kept as they are;
    a `//` inside a string only hides the rest of that line, which is harmless here)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def module_of(path, src):
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def expand_groups(code):
    """`crate::{a, b::{c, d}}` → `crate::a`, `crate::b::c`, `crate::b::d`."""
    paths = []
    for m in re.finditer(r"\b(crate|super(?:::super)*|self)::((?:[A-Za-z_][A-Za-z0-9_]*::)*)(\{)?", code):
        head = m.group(1) + "::" + m.group(2)
        if not m.group(3):
            rest = re.match(r"[A-Za-z_][A-Za-z0-9_]*", code[m.end():])
            paths.append(head + (rest.group(0) if rest else ""))
            continue
        depth, i = 1, m.end()
        while depth and i < len(code):
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            i += 1
        inner = code[m.end() : i - 1]
        items, depth, start = [], 0, 0
        for j, ch in enumerate(inner + ","):
            depth += {"{": 1, "}": -1}.get(ch, 0)
            if ch == "," and depth == 0:
                items.append(inner[start:j].strip())
                start = j + 1
        for item in filter(None, items):
            paths.extend(expand_groups("crate::" + head.split("::", 1)[1] + item) if "{" in item else [head + item])
    return paths


def resolve(path, here, modules):
    """The longest known module a path names, relative to module `here`."""
    parts = path.split("::")
    if parts[0] == "crate":
        target, parts = [], parts[1:]
    elif parts[0] == "self":
        target, parts = list(here), parts[1:]
    else:
        target = list(here)
        while parts and parts[0] == "super":
            target = target[:-1]
            parts = parts[1:]
    best = tuple(target)
    for p in parts:
        target.append(p.split(" ")[0])
        if tuple(target) in modules:
            best = tuple(target)
        else:
            break
    return best


def cycles(graph):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def check(src):
    files = sorted(src.rglob("*.rs"))
    modules = {module_of(f, src): f for f in files}
    graph, folders = {}, {}
    for module, path in modules.items():
        code = strip_comments(path.read_text())
        for p in expand_groups(code):
            target = resolve(p, module, modules)
            if target == module:
                continue
            # A module using its own ancestor's items is the usual parent/child
            # arrangement only if the parent never uses the child: recorded as an edge.
            graph.setdefault(module, set()).add(target)
            top_from, top_to = module[:1], target[:1]
            if top_from != top_to and top_from and top_to:
                folders.setdefault(top_from, set()).add(top_to)
    name = lambda m: "::".join(m) or "crate"
    found = 0
    for component in cycles(graph):
        found += 1
        print(f"{src}: module cycle: {' ↔ '.join(name(m) for m in component)}")
        for m in component:
            into = sorted(name(t) for t in graph.get(m, ()) if t in component)
            print(f"    {name(m)} uses {', '.join(into)}")
    for component in cycles(folders):
        found += 1
        print(f"{src}: top-level cycle: {' ↔ '.join(name(m) for m in component)}")
    edges = sum(len(v) for v in graph.values())
    print(f"{src}: {len(modules)} modules, {edges} dependencies, {found} cycles")
    return found


def main():
    root = Path(__file__).resolve().parent.parent
    sources = [Path(a) for a in sys.argv[1:]] or sorted(p for p in root.glob("**/src") if (p.parent / "Cargo.toml").exists() and "target" not in p.parts)
    return 1 if sum(check(s) for s in sources) else 0


if __name__ == "__main__":
    sys.exit(main())
