"""The documentation covers the public API, and its navigation and includes resolve.

These are static checks of the Markdown sources; CI builds the site itself
with ``mkdocs build --strict`` (see ``.ci/run``).
"""

from __future__ import annotations

import importlib
import importlib.util
import pathlib
import re
import types

import pytest

import jaxreg

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
API = DOCS / "api"


def _live_markdown(path: pathlib.Path) -> str:
    """A page's Markdown without its HTML comments (commented-out blocks do not render)."""
    return re.sub(r"<!--.*?-->", "", path.read_text(encoding="utf-8"), flags=re.S)


def _documented() -> set[str]:
    """Identifiers of the ``::: identifier`` blocks of the API reference."""
    found: set[str] = set()
    for page in sorted(API.glob("*.md")):
        found.update(re.findall(r"^:::\s+([\w.]+)\s*$", _live_markdown(page), flags=re.M))
    return found


def _public_submodules() -> dict[str, types.ModuleType]:
    return {
        name: getattr(jaxreg, name)
        for name in jaxreg.__all__
        if isinstance(getattr(jaxreg, name), types.ModuleType)
    }


def _resolve(identifier: str):
    parts = identifier.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for part in parts[i:]:
            obj = getattr(obj, part)
        return obj
    raise ModuleNotFoundError(identifier)


def _nav_pages(node) -> list[str]:
    if isinstance(node, str):
        return [] if "://" in node else [node]
    if isinstance(node, list):
        return [page for item in node for page in _nav_pages(item)]
    if isinstance(node, dict):
        return [page for value in node.values() for page in _nav_pages(value)]
    return []


def _config() -> dict:
    yaml = pytest.importorskip("yaml")  # installed with mkdocs (the docs and test extras)
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


def test_every_top_level_name_is_documented():
    missing = sorted(set(jaxreg.__all__) - {i[len("jaxreg.") :] for i in _documented()})
    assert not missing, f"add '::: jaxreg.NAME' blocks to docs/api/ for: {missing}"


@pytest.mark.parametrize("module", sorted(_public_submodules()))
def test_every_public_submodule_member_is_documented(module):
    mod = _public_submodules()[module]
    documented = _documented()
    assert f"jaxreg.{module}" in documented
    missing = [n for n in mod.__all__ if f"jaxreg.{module}.{n}" not in documented]
    assert not missing, f"add '::: jaxreg.{module}.NAME' blocks to docs/api/ for: {missing}"


def test_estimators_are_documented():
    if importlib.util.find_spec("jaxreg.estimators") is None:
        pytest.skip("jaxreg/estimators.py does not exist yet")
    pytest.importorskip("sklearn")
    mod = importlib.import_module("jaxreg.estimators")
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [
            n
            for n, obj in vars(mod).items()
            if isinstance(obj, type) and obj.__module__ == mod.__name__ and not n.startswith("_")
        ]
    documented = _documented()
    missing = [n for n in names if f"jaxreg.estimators.{n}" not in documented]
    assert not missing, (
        "uncomment the blocks in docs/api/estimators.md (or add '::: jaxreg.estimators.NAME' "
        f"blocks) for: {missing}"
    )


def test_every_documented_identifier_resolves():
    documented = _documented()
    if importlib.util.find_spec("jaxreg.estimators") is None or not importlib.util.find_spec(
        "sklearn"
    ):
        documented = {i for i in documented if not i.startswith("jaxreg.estimators")}
    bad = []
    for identifier in sorted(documented):
        try:
            _resolve(identifier)
        except (ImportError, AttributeError):
            bad.append(identifier)
    assert not bad, f"'::: identifier' blocks that name no object: {bad}"


def test_every_nav_page_exists_and_every_page_is_in_the_nav():
    config = _config()
    docs_dir = ROOT / config.get("docs_dir", "docs")
    pages = _nav_pages(config["nav"])
    assert pages, "mkdocs.yml has no nav"
    missing = [p for p in pages if not (docs_dir / p).is_file()]
    assert not missing, f"pages in the mkdocs.yml nav that do not exist: {missing}"
    assert len(pages) == len(set(pages)), "a page appears twice in the nav"
    on_disk = {p.relative_to(docs_dir).as_posix() for p in docs_dir.rglob("*.md")}
    assert on_disk == set(pages), f"pages not in the nav: {sorted(on_disk - set(pages))}"


def test_snippet_includes_and_images_exist():
    for page in DOCS.rglob("*.md"):
        text = _live_markdown(page)
        for included in re.findall(r'^--8<--\s+"([^"]+)"', text, flags=re.M):
            assert (ROOT / included).is_file(), f"{page.name} includes missing {included}"
        for image in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", text):
            assert (page.parent / image).is_file(), f"{page.name} shows missing {image}"


def test_griffe_extension_rewrites_rest_markup():
    pytest.importorskip("griffe")
    spec = importlib.util.spec_from_file_location("griffe_jaxreg", DOCS / "griffe_jaxreg.py")
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    text = (
        "See :func:`~jaxreg.lasso` and :class:`FitResult`, not :meth:`Foo.bar`.\n"
        "\n"
        ".. math:: a = b\n"
        "          + c\n"
        "\n"
        "with :math:`x^2`.\n"
        "\n"
        "Example:\n"
        "  >>> 1 + 1\n"
        "  2\n"
    )
    out = ext.to_markdown(text, "jaxreg.result")
    assert "[`lasso`][jaxreg.lasso]" in out
    assert "[`FitResult`][jaxreg.FitResult]" in out
    assert "`Foo.bar`" in out and ":meth:" not in out
    assert "$$\na = b\n+ c\n$$" in out
    assert "$x^2$" in out
    assert "  ```pycon\n  >>> 1 + 1\n  2\n  ```" in out


_FENCE = re.compile(r"^([ \t]*)```python[ \t]*\n(.*?)^\1```", flags=re.M | re.S)


def _python_blocks(path: pathlib.Path) -> list[str]:
    """The rendered ```python blocks of a page, dedented, in page order."""
    blocks = []
    for indent, body in _FENCE.findall(_live_markdown(path)):
        lines = body.splitlines()
        blocks.append("\n".join(line[len(indent) :] for line in lines) + "\n")
    return blocks


_PAGES_WITH_CODE = sorted(p.name for p in DOCS.glob("*.md") if "```python" in p.read_text("utf-8"))


def test_every_python_fence_is_found():
    # The runner below executes what _python_blocks finds: it must find every
    # fence a page renders, or a block would silently go untested.
    for name in _PAGES_WITH_CODE:
        page = DOCS / name
        assert len(_python_blocks(page)) == _live_markdown(page).count("```python"), name
    assert sum(len(_python_blocks(DOCS / name)) for name in _PAGES_WITH_CODE) >= 20


@pytest.mark.parametrize("name", _PAGES_WITH_CODE)
def test_python_blocks_run(name, capsys):
    """Each page's Python blocks run in order, in one namespace, as a reader
    would paste them (the later blocks of a page use the earlier ones' names)."""
    namespace: dict = {"__name__": f"docs_{pathlib.Path(name).stem}"}
    for i, block in enumerate(_python_blocks(DOCS / name)):
        code = compile(block, f"docs/{name} (python block {i + 1})", "exec")
        try:
            exec(code, namespace)
        except Exception as err:  # noqa: BLE001 - reported with the block it came from
            pytest.fail(f"docs/{name}, python block {i + 1} raised {err!r}:\n{block}")
    if name == "quickstart.md":
        # What the page says these lines print.
        out = capsys.readouterr().out
        assert "CONVERGED" in out
        assert "(50,) (50, 10)" in out
        assert "(4, 100) (5, 4, 100)" in out
        assert "(3, 30, 10)" in out
