"""Griffe extension used by the documentation build (see ``mkdocs.yml``).

It does two things to jaxreg's docstrings before mkdocstrings renders them:

1. Some public functions (``lasso``, ``elastic_net``, ``logistic`` and the
   paths) get their docstrings at import time, from a shared template
   (``f.__doc__ = TEMPLATE.format(...)``). Static analysis sees no docstring
   for them, so the docstring is taken from the imported object instead.
2. The docstrings use a few reStructuredText constructs, which are turned
   into their Markdown equivalents: ``.. math::`` blocks and ``:math:`` roles
   become MathJax (``pymdownx.arithmatex``), and ``:func:``, ``:class:``,
   ``:meth:``, ``:mod:`` and ``:attr:`` roles become cross-references to the
   API reference when they name a public object, inline code otherwise.
   Doctest examples (``>>>`` lines) are fenced as code blocks.
"""

from __future__ import annotations

import importlib
import inspect
import re
from functools import cache
from typing import Any

import griffe

PUBLIC_SUBMODULES = (
    "datafits",
    "penalties",
    "prox",
    "solvers",
    "optim",
    "plot",
    "datasets",
    "estimators",
)

_ROLE = re.compile(r":(?:py:)?(func|class|meth|mod|attr|obj|data):`(~?)([\w.]+)(?:\(\))?`")
_MATH_ROLE = re.compile(r":math:`([^`]+)`")
_MATH_BLOCK = re.compile(r"^(\s*)\.\. math::\s*(.*)$")


@cache
def _public_ids() -> dict[int, str]:
    """Map ``id(object)`` to the identifier under which the API reference documents it."""
    import jaxreg

    ids: dict[int, str] = {}
    for name in jaxreg.__all__:
        ids.setdefault(id(getattr(jaxreg, name)), f"jaxreg.{name}")
    for sub in PUBLIC_SUBMODULES:
        try:
            module = importlib.import_module(f"jaxreg.{sub}")
        except Exception:  # noqa: BLE001 - a module that does not import is not documented
            continue
        ids.setdefault(id(module), f"jaxreg.{sub}")
        for name in getattr(module, "__all__", ()):
            ids.setdefault(id(getattr(module, name)), f"jaxreg.{sub}.{name}")
    return ids


def _resolve(target: str, module_path: str) -> Any:
    """The runtime object a role names, looked up from the docstring's module."""
    parts = target.split(".")
    try:
        if parts[0] == "jaxreg":
            obj: Any = importlib.import_module("jaxreg")
            parts = parts[1:]
        else:
            obj = importlib.import_module(module_path)
        for part in parts:
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    return obj


def _role(match: re.Match, module_path: str) -> str:
    _, tilde, target = match.groups()
    text = target.rsplit(".", 1)[-1] if tilde else target
    obj = _resolve(target, module_path)
    identifier = None if obj is None else _public_ids().get(id(obj))
    if identifier is None:
        return f"`{text}`"
    return f"[`{text}`][{identifier}]"


def _math_blocks(text: str) -> str:
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _MATH_BLOCK.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent, first = m.groups()
        body = [first] if first else []
        i += 1
        while (
            i < len(lines)
            and lines[i].strip()
            and (len(lines[i]) - len(lines[i].lstrip()) > len(indent))
        ):
            body.append(lines[i].strip())
            i += 1
        out += [f"{indent}$$"] + [f"{indent}{b}" for b in body] + [f"{indent}$$"]
    return "\n".join(out)


def _doctest_blocks(text: str) -> str:
    """Fence runs of ``>>>`` lines (and their output) as ``pycon`` code blocks."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        stripped = lines[i].lstrip()
        if not stripped.startswith(">>>"):
            out.append(lines[i])
            i += 1
            continue
        indent = lines[i][: len(lines[i]) - len(stripped)]
        out.append(f"{indent}```pycon")
        while i < len(lines) and lines[i].strip():
            out.append(lines[i])
            i += 1
        out.append(f"{indent}```")
    return "\n".join(out)


def to_markdown(text: str, module_path: str) -> str:
    """Rewrite the reStructuredText constructs of a docstring as Markdown."""
    text = _doctest_blocks(text)
    text = _math_blocks(text)
    text = _MATH_ROLE.sub(lambda m: f"${m.group(1)}$", text)
    return _ROLE.sub(lambda m: _role(m, module_path), text)


class JaxregDocstrings(griffe.Extension):
    """Runtime docstrings where static analysis finds none; reST roles as Markdown."""

    def on_instance(self, *, node: Any, obj: griffe.Object, agent: Any, **kwargs: Any) -> None:
        if obj.docstring is None and obj.is_function and obj.parent and obj.parent.is_module:
            runtime = _resolve(obj.name, obj.parent.path)
            doc = inspect.getdoc(runtime) if runtime is not None else None
            if doc:
                obj.docstring = griffe.Docstring(
                    doc,
                    lineno=obj.lineno,
                    parent=obj,
                    parser=agent.docstring_parser,
                    parser_options=agent.docstring_options,
                )
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value, obj.module.path)
