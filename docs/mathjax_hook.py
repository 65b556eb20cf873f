"""MkDocs hook: the site carries its own copy of MathJax, so formulas render offline.

The files come from the ``django-static-mathjax`` wheel, a plain copy of MathJax 3's
``es5`` build with no dependencies of its own (the Django in its name is only where
its README says to mount it); the docs and test extras install it. They are added
to the build as generated files, so ``mkdocs build`` writes them into the site and
``mkdocs serve`` serves them, and nothing is copied into ``docs/``.
"""

from __future__ import annotations

import importlib.metadata
import pathlib

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

DISTRIBUTION = "django-static-mathjax"
# Where the files land in the site; mkdocs.yml's extra_javascript names the component there.
SITE_PATH = "js/vendor/mathjax"
# The combined component the pages load: TeX input, CommonHTML output, the menu.
COMPONENT = "tex-mml-chtml.js"
# What the component fetches later, relative to its own URL: the CommonHTML fonts, the
# TeX packages that \require or the autoloader pull in, and what the right-click menu
# offers (accessibility and speech, the SVG renderer). The other top-level bundles are
# alternatives to the component and are left out.
ON_DEMAND = ("a11y", "input", "output", "sre", "ui")


def _es5_dir() -> pathlib.Path:
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise PluginError(
            f"the docs need {DISTRIBUTION} for MathJax: pip install -e '.[docs]'"
        ) from None
    es5 = pathlib.Path(str(dist.locate_file("mathjax/static/mathjax/es5")))
    if not (es5 / COMPONENT).is_file():
        raise PluginError(
            f"{DISTRIBUTION} {dist.version} has no es5/{COMPONENT} (MathJax 4 moved the "
            "files); mkdocs.yml and docs/js/mathjax.js are written for MathJax 3"
        )
    return es5


def on_files(files: Files, config: MkDocsConfig) -> Files:
    es5 = _es5_dir()
    wanted = {COMPONENT: es5 / COMPONENT, "LICENSE": es5.parent / "LICENSE"}
    for folder in ON_DEMAND:
        for path in sorted((es5 / folder).rglob("*")):
            if path.is_file():
                wanted[path.relative_to(es5).as_posix()] = path
    for name, path in wanted.items():
        files.append(File.generated(config, f"{SITE_PATH}/{name}", abs_src_path=str(path)))
    return files
