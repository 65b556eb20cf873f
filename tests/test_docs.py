"""The documentation covers the public API, and its navigation and includes resolve.

Most are static checks of the Markdown sources. The last ones build the site
with ``mkdocs build --strict`` (as CI does, see ``.ci/run``) and check that a
reader needs no network: every script, stylesheet, font and image comes from
the site itself, MathJax included.
"""

from __future__ import annotations

import html.parser
import importlib
import importlib.util
import pathlib
import posixpath
import re
import subprocess
import sys
import types
import urllib.parse

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


# ---------------------------------------------------------------------------
# The built site works offline.

# A URL with a scheme and an authority (https://...) or protocol-relative (//...).
_EXTERNAL_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", flags=re.I)
# <link rel> values that make the browser fetch or connect (not prev/next/canonical).
_FETCHING_RELS = {
    "stylesheet",
    "preload",
    "modulepreload",
    "prefetch",
    "preconnect",
    "dns-prefetch",
    "icon",
    "apple-touch-icon",
    "mask-icon",
    "manifest",
}
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)|@import\s+(['"])(.*?)\3""", flags=re.S)


def _css_urls(css: str) -> list[str]:
    return [m.group(2) or m.group(4) for m in _CSS_URL.finditer(css)]


class _PageResources(html.parser.HTMLParser):
    """What a page makes the browser load: (tag, URL) in page order, scripts apart."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[tuple[str, str]] = []
        self.scripts: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        urls = []
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
            urls.append(a["src"])
        elif tag == "link" and _FETCHING_RELS & set(a.get("rel", "").lower().split()):
            urls.append(a.get("href", ""))
        elif tag in ("img", "source", "video", "audio", "track", "iframe", "embed", "input"):
            urls += [a[k] for k in ("src", "poster") if a.get(k)]
            urls += [c.split()[0] for c in a.get("srcset", "").split(",") if c.strip()]
        elif tag == "object" and a.get("data"):
            urls.append(a["data"])
        urls += _css_urls(a.get("style", ""))
        self.loaded += [(tag, u) for u in urls]
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.loaded += [("style", u) for u in _css_urls(data)]


def _resources(page: pathlib.Path) -> _PageResources:
    parser = _PageResources()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _in_site(site: pathlib.Path, referrer: pathlib.Path, url: str) -> pathlib.Path:
    """The file a relative URL names, from a page or stylesheet of the site."""
    path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
    base = referrer.parent.relative_to(site).as_posix()
    target = posixpath.normpath(posixpath.join(base, path)) if not path.startswith("/") else path
    return site / target.lstrip("/")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> pathlib.Path:
    """The site, built as CI builds it (strict: any warning fails the build)."""
    pytest.importorskip("mkdocs")
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.stderr[-4000:]}"
    return out


def test_site_loads_nothing_from_outside(site):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 20, "the build wrote fewer pages than the nav lists"
    external, missing = [], []
    for page in pages:
        name = page.relative_to(site).as_posix()
        for tag, url in _resources(page).loaded:
            if _EXTERNAL_URL.match(url):
                external.append(f"{name}: <{tag}> {url}")
            elif url and not url.startswith(("data:", "#")):
                if not _in_site(site, page, url).is_file():
                    missing.append(f"{name}: <{tag}> {url}")
    # Fonts and images that the site's own stylesheets pull in (@import, url()).
    for sheet in sorted(site.rglob("*.css")):
        name = sheet.relative_to(site).as_posix()
        for url in _css_urls(sheet.read_text(encoding="utf-8")):
            if _EXTERNAL_URL.match(url):
                external.append(f"{name}: {url}")
            elif url and not url.startswith(("data:", "#")):
                if not _in_site(site, sheet, url).is_file():
                    missing.append(f"{name}: {url}")
    assert not external, "the site fetches from outside itself:\n" + "\n".join(external)
    assert not missing, "the site refers to files it does not have:\n" + "\n".join(missing)


def test_math_renderer_is_in_the_site(site):
    math_pages = [p for p in sorted(site.rglob("*.html")) if 'class="arithmatex"' in p.read_text()]
    assert math_pages, "no page has a formula: the API reference should"
    config = site / "js" / "mathjax.js"
    for page in math_pages:
        name = page.relative_to(site).as_posix()
        scripts = [_in_site(site, page, s) for s in _resources(page).scripts]
        components = [
            s
            for s in scripts
            if s.name.startswith("tex-") and "mathjax" in s.relative_to(site).parts
        ]
        assert config in scripts and components, f"{name} does not load MathJax from the site"
        # window.MathJax is read when the component loads, so the settings come first.
        assert scripts.index(config) < scripts.index(components[0]), name
        assert components[0].is_file(), f"{name} loads a MathJax that is not in the site"
    # What the component fetches at run time, relative to its own URL: its fonts, and
    # the TeX packages that the autoloader brings in.
    root = components[0].parent
    fonts = {f.name for f in (root / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff")}
    assert {"MathJax_Main-Regular.woff", "MathJax_Math-Italic.woff"} <= fonts
    assert (root / "input" / "tex" / "extensions" / "boldsymbol.js").is_file()
