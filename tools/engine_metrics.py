"""Print the engine's structural figures: long functions, wide private
signatures, comparisons with a loss name, private names shared across modules.

A function's length excludes its docstring and includes its nested
functions; a private name is one with a leading underscore (dunders
excepted) defined at the top level of one module of the package and imported
or reached as an attribute from another; loss names are the string literals
in ``LOSS_NAMES`` on either side of a comparison.

Usage: ``python tools/engine_metrics.py [--check]``. With ``--check`` it exits
non-zero when a figure is over the limit the architecture page states.
"""

from __future__ import annotations

import argparse
import ast
import pathlib
import sys

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "jaxreg"
LOSS_NAMES = {"squared", "logistic", "multinomial", "quadratic", "poisson"}
LIMITS = {"over_150": 0, "over_100": 2, "wide_private": 0, "loss_compares": 6, "cross_private": 5}


def _private(name: str) -> bool:
    """A leading underscore, dunders (``__init__``) excepted."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _body_lines(node: ast.AST) -> int:
    """Lines of a function, its docstring excluded."""
    body = node.body
    start = node.lineno
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(getattr(body[0], "value", None), ast.Constant)
    ):
        if isinstance(body[0].value.value, str):
            doc = body[0]
            return (node.end_lineno - start + 1) - (doc.end_lineno - doc.lineno + 1)
    return node.end_lineno - start + 1


def _n_params(node) -> int:
    a = node.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
    names = [n for n in names if n not in ("self", "cls")]
    return len(names) + (a.vararg is not None) + (a.kwarg is not None)


def _is_loss_literal(node) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value in LOSS_NAMES
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_is_loss_literal(e) for e in node.elts)
    return False


def _module_name(path: pathlib.Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def measure():
    functions, loss_compares, defined, used = [], [], {}, []
    files = sorted(PACKAGE.rglob("*.py"))
    for path in files:
        mod = _module_name(path)
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions.append((f"{mod}:{node.name}", _body_lines(node), _n_params(node)))
            if isinstance(node, ast.Compare):
                if any(_is_loss_literal(c) for c in [node.left, *node.comparators]):
                    loss_compares.append(f"{mod}:{node.lineno}")
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defined.setdefault(node.name, mod)
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        defined.setdefault(t.id, mod)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("jaxreg")
            ):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        used.append((mod, node.module, alias.name))
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.attr.startswith("_") and not node.attr.startswith("__"):
                    used.append((mod, node.value.id, node.attr))
    cross = set()
    for mod, owner, name in used:
        home = defined.get(name)
        if (
            home is not None
            and home != mod
            and (owner == home or owner.split(".")[-1] == home.split(".")[-1])
        ):
            cross.add(f"{home}.{name}")
    return functions, loss_compares, sorted(cross)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    functions, compares, cross = measure()
    long_ = sorted((f for f in functions if f[1] > 100), key=lambda f: -f[1])
    wide = sorted(f for f in functions if f[2] >= 12 and _private(f[0].split(":")[1]))
    figures = {
        "over_150": sum(f[1] > 150 for f in functions),
        "over_100": len(long_),
        "wide_private": len(wide),
        "loss_compares": len(compares),
        "cross_private": len(cross),
    }
    for key, value in figures.items():
        flag = "" if value <= LIMITS[key] else "  (over the limit)"
        print(f"{key:14s} {value:4d}  limit {LIMITS[key]}{flag}")
    if args.verbose:
        print("\nlong functions:", *(f"  {n} {l}" for n, l, _ in long_), sep="\n")
        print("\nwide private signatures:", *(f"  {n} {k}" for n, _, k in wide), sep="\n")
        print("\nloss-name comparisons:", *(f"  {c}" for c in compares), sep="\n")
        print("\nprivate names across modules:", *(f"  {c}" for c in cross), sep="\n")
    over = any(figures[k] > LIMITS[k] for k in LIMITS)
    return int(args.check and over)


if __name__ == "__main__":
    sys.exit(main())
