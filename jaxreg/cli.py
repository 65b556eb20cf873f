"""The ``jaxreg`` command line.

Commands:

* ``jaxreg demo``: lasso, elastic net and ridge on the shipped diabetes data,
  each with its penalty chosen by K-fold cross-validation; prints the chosen
  alphas, scores and coefficients and writes path and CV plots as PNG files.
* ``jaxreg fit FILE --alpha A``: one fit at a given penalty.
* ``jaxreg path FILE``: the fits along a grid of penalties.
* ``jaxreg cv FILE``: K-fold cross-validation along the grid.

``FILE`` is a CSV file with a header row, an NPZ archive (arrays ``X`` and
``y``, or a single 2-D array whose ``--target`` column is the response) or a
svmlight / libsvm text file. In a CSV file, text feature columns are one-hot
encoded (``--categorical``), and rows with a missing cell stop the command
unless ``--dropna`` drops them. The columns are standardized before they are
penalized, as glmnet does (``--no-standardize`` turns it off); coefficients are
reported on the original scale. ``--json`` prints one JSON object on stdout
and nothing else. Progress and notes go to stderr (``--quiet`` silences them).

Exit status: 0 on success, 1 when the data cannot be used (missing or
unreadable file, missing values without ``--dropna``, text columns with
``--categorical error``, non-finite values, duplicate column names, a target
unusable for the loss), 2 for bad options (``--target`` naming no column
included).
Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import math
import os
import sys
import time
import zipfile
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np

import jaxreg
from jaxreg._cache import NO_CACHE_ENV, cache_disabled_by_env
from jaxreg._validation import INT32_MAX
from jaxreg.datasets import load_diabetes

_DIABETES_SOURCE = (
    "diabetes data of Efron, Hastie, Johnstone and Tibshirani (2004), "
    '"Least Angle Regression", Annals of Statistics 32(2)'
)
_INSTALL_PLOT = "pip install 'jaxreg[plot]'"
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".npz": "npz",
    ".npy": "npz",
    ".svm": "svmlight",
    ".svmlight": "svmlight",
    ".libsvm": "svmlight",
}
_MISSING = {"", "na", "n/a", "nan", "null", "none", "?"}
_NAME_ARRAYS = ("feature_names", "columns", "names")
_MAX_LISTED = 40
# One l1_ratio: the elastic-net CV then shares the compiled lasso CV (same
# shapes, l1_ratio is traced); several would be cross-validated too, at the
# cost of one more compilation.
_DEMO_L1_RATIOS = (0.5,)


# ----------------------------------------------------------------------------
# errors, parser, progress
# ----------------------------------------------------------------------------


class _CLIError(Exception):
    """A problem with the data or the files: one line on stderr, exit status 1."""

    status = 1


class _UsageError(_CLIError):
    """A bad option value: one line on stderr, exit status 2."""

    status = 2


class _Parser(argparse.ArgumentParser):
    """argparse with one-line error messages (no usage block) and exit status 2,
    and no abbreviated options (``--alpha`` must not pass for ``--alphas``)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # noqa: D102 - argparse hook
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Progress:
    """``label ... done in 1.2 s`` on stderr around a block of work, unless quiet."""

    def __init__(self, label: str, quiet: bool):
        self.label, self.quiet = label, quiet

    def __enter__(self):
        self.start = time.perf_counter()
        if not self.quiet:
            print(f"{self.label} ...", end=" ", file=sys.stderr, flush=True)
        return self

    def __exit__(self, exc_type, exc, tb):
        self.elapsed = time.perf_counter() - self.start
        if not self.quiet:
            word = "failed" if exc_type is not None else f"done in {self.elapsed:.1f} s"
            print(word, file=sys.stderr, flush=True)
        return False


def _note(message: str, quiet: bool) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def _list_names(names: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(str(n) for n in names[:limit])
    return shown if len(names) <= limit else f"{shown}, ... ({len(names)} in all)"


# ----------------------------------------------------------------------------
# reading data
# ----------------------------------------------------------------------------


@dataclasses.dataclass
class _Data:
    """A design matrix and response read from a file, ready for the solvers."""

    X: np.ndarray
    y: np.ndarray
    features: list[str]
    target: str
    classes: list[Any] | None  # original labels mapped to 0 and 1 (logistic loss)
    source: str


def _first_bad_float(values: Sequence[str]) -> int:
    for i, s in enumerate(values):
        try:
            float(s)
        except (TypeError, ValueError):
            return i
    return -1


def _numeric_column(values, name: str, where: Callable[[int], str], hint: str = "") -> np.ndarray:
    """Float64 values of one column; names the column and the first bad entry on failure."""
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        i = _first_bad_float(values)
        bad = str(values[i]).strip()
        if bad.lower() in _MISSING:
            raise _CLIError(
                f"missing value {bad!r} in column {name!r} {where(i)}: "
                "jaxreg needs complete numeric data (drop or impute the row)"
            ) from None
        raise _CLIError(f"column {name!r} is not numeric: {bad!r} {where(i)}{hint}") from None
    bad_rows = np.flatnonzero(~np.isfinite(out))
    if bad_rows.size:
        i = int(bad_rows[0])
        raise _CLIError(
            f"column {name!r} has a non-finite value ({values[i]!r}) {where(i)}: "
            "jaxreg needs finite numbers (drop or impute the row)"
        )
    return out


def _check_unique(names: list[str], source: str) -> None:
    """Column names must tell the columns apart (a target or a coefficient is
    reported by its name)."""
    seen: dict[str, int] = {}
    for j, name in enumerate(names):
        if name in seen:
            raise _CLIError(
                f"{source}: column name {name!r} appears twice (columns {seen[name]} and {j}); "
                "column names must be unique"
            )
        seen[name] = j


def _resolve_target(target: str | None, names: list[str], source: str) -> int:
    """Column index of ``--target``; default the last column.

    A column name wins over an index, so a column named "3" is found by its
    name; otherwise an integer is a 0-based index, negative from the end.
    """
    if target is None:
        return len(names) - 1
    if target in names:
        return names.index(target)
    try:
        index = int(target)
    except ValueError:
        raise _UsageError(
            f"--target {target}: no such column in {source}; columns: {_list_names(names)}"
        ) from None
    n = len(names)
    if -n <= index < n:
        return index % n
    side = "past the last" if index >= n else "before the first"
    raise _UsageError(
        f"--target {target}: index {side} column ({source} has {n} columns, "
        f"indices 0-{n - 1}, or -{n} to -1 from the end)"
    )


def _prepare_target(values, name: str, loss: str, where: Callable[[int], str]):
    """The response as float64: for the logistic loss the two classes mapped
    to 0 and 1, for the multinomial loss each category to its index."""
    if _LOSSES[loss].categories:
        return _categories(values, name, where)
    binary = _LOSSES[loss].binary_target
    values = np.asarray(values)
    if values.dtype.kind in "biuf":
        numeric = values.astype(np.float64)
        bad = np.flatnonzero(~np.isfinite(numeric))
        if bad.size:
            i = int(bad[0])
            raise _CLIError(
                f"target {name!r} has a non-finite value ({values[i]!r}) {where(i)}: "
                "jaxreg needs finite numbers (drop or impute the row)"
            )
    else:
        labels = [str(s).strip() for s in values.tolist()]
        hint = ""
        if not binary and len(set(labels)) == 2:
            hint = " (two classes: use --loss logistic)"
        if not binary or _first_bad_float(labels) < 0:
            numeric = _numeric_column(labels, name, where, hint)
        else:
            missing = [i for i, s in enumerate(labels) if s.lower() in _MISSING]
            if missing:
                raise _CLIError(
                    f"missing value {labels[missing[0]]!r} in target {name!r} {where(missing[0])}"
                )
            numeric = None
            values = np.asarray(labels)
    if not binary:
        return numeric, None
    source = numeric if numeric is not None else values
    classes, codes = np.unique(source, return_inverse=True)
    if len(classes) != 2:
        shown = _list_names([_label(c) for c in classes], 6)
        what = "only one class" if len(classes) < 2 else f"{len(classes)} classes"
        raise _CLIError(
            f"the logistic loss needs a target with two classes; {name!r} has {what}: {shown}"
        )
    if numeric is not None and classes[0] == 0 and classes[1] == 1:
        return numeric, None
    return codes.astype(np.float64), [_label(c) for c in classes]


def _categories(values, name: str, where: Callable[[int], str]):
    """Class labels read as categories (text or numbers), sorted, mapped to
    0..K-1; at least two classes."""
    labels = [str(s).strip() for s in np.asarray(values).tolist()]
    missing = [i for i, s in enumerate(labels) if s.lower() in _MISSING]
    if missing:
        raise _CLIError(
            f"missing value {labels[missing[0]]!r} in target {name!r} {where(missing[0])}"
        )
    source = np.asarray(values)
    if source.dtype.kind not in "biuf":
        source = np.asarray(labels)
    classes, codes = np.unique(source, return_inverse=True)
    if len(classes) < 2:
        raise _CLIError(
            f"the multinomial loss needs a target with two classes or more; {name!r} has "
            f"only one: {_label(classes[0])!r}"
        )
    return codes.astype(np.float64), [_label(c) for c in classes]


def _label(value) -> Any:
    """A class label as a plain JSON-friendly value (1.0 -> 1)."""
    if isinstance(value, (np.floating, float)) and float(value).is_integer():
        return int(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclasses.dataclass(frozen=True)
class _TableOptions:
    """How the text columns and the missing values of a CSV file are handled."""

    categorical: str  # encode, drop or error (--categorical)
    dropna: bool
    quiet: bool


def _csv_table(path: str) -> tuple[list[str], list[list[str]], list[int]]:
    """The header names, the data rows (cells stripped) and their line numbers."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        text = f.read()
    first = text.split("\n", 1)[0]
    if path.lower().endswith(".tsv") or ("\t" in first and "," not in first):
        delimiter = "\t"
    elif ";" in first and "," not in first:
        delimiter = ";"
    else:
        delimiter = ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise _CLIError(f"{path} is empty: a CSV file needs a header row and data rows")
    names = [h.strip() for h in header]
    _check_unique(names, path)
    if all(_first_bad_float([h]) < 0 for h in names):
        raise _CLIError(
            f"{path} has no header row (its first line is numbers): "
            "a CSV file needs column names on its first line"
        )
    rows, lines = [], []
    for row in reader:
        if not row:
            continue
        if len(row) != len(names):
            raise _CLIError(
                f"line {reader.line_num} of {path} has {len(row)} fields, "
                f"the header has {len(names)}"
            )
        rows.append([cell.strip() for cell in row])
        lines.append(reader.line_num)
    if len(rows) < 2:
        raise _CLIError(f"{path} has {len(rows)} data rows: at least 2 are needed")
    if len(names) < 2:
        raise _CLIError(f"{path} has one column: it needs feature columns and a target")
    return names, rows, lines


def _as_float(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _is_missing(cell: str) -> bool:
    """Empty, NA, NaN, ?: the spellings of a missing value that spreadsheets and R write."""
    if cell.lower() in _MISSING:
        return True
    value = _as_float(cell)
    return value is not None and math.isnan(value)


def _scan(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Masks of a column's missing cells and of its text cells (neither numbers nor missing)."""
    try:
        # A column of numbers (NaN included) converts in one call: no loop over cells.
        return np.isnan(values.astype(np.float64)), np.zeros(values.size, dtype=bool)
    except ValueError:
        pass
    missing = np.array([_is_missing(s) for s in values], dtype=bool)
    text = np.array([_as_float(s) is None for s in values], dtype=bool) & ~missing
    return missing, text


def _text_columns(names, columns, scans, t: int, lines, quiet: bool) -> set[int]:
    """The text feature columns: those with a cell that is neither a number nor missing.

    A column of numbers but for a few cells is often a typo rather than a
    category, so the note says which cell made it text.
    """
    text = set()
    for j, (missing, is_text) in enumerate(scans):
        if j == t or not is_text.any():
            continue
        text.add(j)
        n_numbers = int(np.count_nonzero(~missing & ~is_text))
        if n_numbers:
            i = int(np.argmax(is_text))
            _note(
                f"column {names[j]!r} is read as text: {str(columns[j][i])!r} on line {lines[i]} "
                f"is not a number ({n_numbers} of its cells are)",
                quiet,
            )
    return text


def _feature_columns(names, columns, scans, t: int, text: set[int], lines, opts: _TableOptions):
    """The feature columns that ``--categorical`` keeps, in file order."""
    features = [j for j in range(len(names)) if j != t]
    if not text or opts.categorical == "encode":
        return features
    if opts.categorical == "error":
        j = min(text)
        i = int(np.argmax(scans[j][1]))
        raise _CLIError(
            f"column {names[j]!r} is text ({str(columns[j][i])!r} on line {lines[i]}): use "
            "--categorical encode to one-hot encode text columns or --categorical drop "
            "to leave them out"
        )
    kept = [j for j in features if j not in text]
    dropped = _list_names([names[j] for j in sorted(text)])
    if not kept:
        raise _CLIError(
            f"every feature column is text ({dropped}): --categorical drop leaves no features "
            "(use --categorical encode)"
        )
    what = "columns" if len(text) > 1 else "column"
    _note(f"--categorical drop: left out the text {what} {dropped}", opts.quiet)
    return kept


def _complete_rows(names, scans, used: list[int], lines, path: str, opts: _TableOptions):
    """Indices of the rows to keep: all of them, or with --dropna the complete ones.

    Only the ``used`` columns (the features kept and the target) count: a
    missing cell in a column left out costs no row.
    """
    masks = [(names[j], scans[j][0]) for j in used]
    missing = np.logical_or.reduce([m for _, m in masks])
    n, bad = missing.size, int(np.count_nonzero(missing))
    if bad == 0:
        return np.arange(n)
    counts = [f"{name!r} ({int(m.sum())})" for name, m in masks if m.any()]
    where = f"{'columns' if len(counts) > 1 else 'column'} {_list_names(counts)}"
    if not opts.dropna:
        first = lines[int(np.argmax(missing))]
        raise _CLIError(
            f"missing values in {bad} of {n} rows of {path} (first on line {first}), in {where}: "
            "use --dropna to drop those rows, or impute the values"
        )
    keep = np.flatnonzero(~missing)
    if keep.size < 2:
        raise _CLIError(
            f"--dropna leaves {keep.size} of {n} rows of {path}: at least 2 are needed "
            f"(missing values in {where})"
        )
    _note(f"--dropna: dropped {bad} of {n} rows with missing values, in {where}", opts.quiet)
    return keep


def _one_hot(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Indicator columns of every level but the first in sorted order, and the levels."""
    levels = sorted(set(values.tolist()))
    block = np.zeros((values.size, len(levels) - 1))
    for k, level in enumerate(levels[1:]):
        block[:, k] = values == level
    return block, levels


def _describe_levels(name: str, levels: list[str], n_rows: int) -> str:
    if len(levels) == 1:
        return f"{name} (one level, {levels[0]!r}: no columns)"
    per_row = ", one per row" if len(levels) == n_rows else ""
    return f"{name} ({len(levels)} levels{per_row}, reference {levels[0]!r})"


def _design(names, columns, features, text: set[int], where, path: str, quiet: bool):
    """The design matrix: number columns as they are, text columns one-hot encoded."""
    blocks, out_names, encoded = [], [], []
    for j in features:
        if j in text:
            block, levels = _one_hot(columns[j])
            out_names += [f"{names[j]}={level}" for level in levels[1:]]
            encoded.append(_describe_levels(names[j], levels, block.shape[0]))
        else:
            block = _numeric_column(columns[j].tolist(), names[j], where)[:, None]
            out_names.append(names[j])
        blocks.append(block)
    if encoded:
        _note(
            "one-hot encoded text columns into NAME=LEVEL columns, the reference level "
            f"left out: {'; '.join(encoded)}",
            quiet,
        )
    X = np.hstack(blocks)
    if X.shape[1] == 0:
        raise _CLIError(f"the feature columns of {path} are text with one level each: no features")
    return X, out_names


def _read_csv(path: str, target: str | None, loss: str, opts: _TableOptions) -> _Data:
    names, rows, lines = _csv_table(path)
    t = _resolve_target(target, names, path)
    columns = [np.asarray(c, dtype=str) for c in zip(*rows, strict=True)]
    scans = [_scan(c) for c in columns]
    # Text is decided on every row, so that --dropna never changes a column's kind.
    # Under --categorical error the error names the cell, so no note is needed.
    text = _text_columns(names, columns, scans, t, lines, opts.quiet or opts.categorical == "error")
    features = _feature_columns(names, columns, scans, t, text, lines, opts)
    keep = _complete_rows(names, scans, [*features, t], lines, path, opts)
    columns = [c[keep] for c in columns]
    lines = [lines[i] for i in keep]

    def where(i):
        return f"on line {lines[i]}"

    X, feature_names = _design(names, columns, features, text, where, path, opts.quiet)
    y, classes = _prepare_target(columns[t].tolist(), names[t], loss, where)
    return _Data(X, y, feature_names, names[t], classes, path)


def _npz_matrix(arr: np.ndarray, name: str, names: list[str], where) -> np.ndarray:
    """A numeric 2-D array as float64, naming the first bad column and row."""
    if arr.dtype.kind in "biuf":
        out = arr.astype(np.float64)
        bad = np.argwhere(~np.isfinite(out))
        if bad.size:
            i, j = (int(k) for k in bad[0])
            raise _CLIError(
                f"column {names[j]!r} of array {name!r} has a non-finite value "
                f"({out[i, j]}) {where(i)}: jaxreg needs finite numbers"
            )
        return out
    if arr.dtype.kind in "USO":
        return np.column_stack(
            [_numeric_column(list(arr[:, j]), names[j], where) for j in range(arr.shape[1])]
        )
    raise _CLIError(f"array {name!r} is not numeric (dtype {arr.dtype})")


def _read_npz(path: str, target: str | None, loss: str) -> _Data:
    with open(path, "rb") as f:
        magic = f.read(6)
    if not (magic.startswith(b"PK") or magic == b"\x93NUMPY"):
        raise _CLIError(f"{path} is not an NPZ archive (nor an NPY array)")
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            arrays = {"data": loaded}
        else:
            with loaded:
                arrays = {k: loaded[k] for k in loaded.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as err:
        raise _CLIError(f"cannot read {path} as an NPZ archive: {err}") from None
    name_arr = next((arrays.pop(k) for k in _NAME_ARRAYS if k in arrays), None)

    def where(i):
        return f"in row {i} (0-based)"

    if "X" in arrays:
        if "y" not in arrays:
            raise _CLIError(f"{path} has an array X but no array y")
        if target is not None:
            raise _UsageError(
                f"--target picks a column of a single 2-D array, but {path} holds X and y"
            )
        X, y = arrays["X"], arrays["y"]
        if X.ndim != 2:
            raise _CLIError(f"array 'X' in {path} must be 2-D, it has shape {X.shape}")
        if y.ndim == 2 and 1 in y.shape:
            y = y.ravel()
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise _CLIError(
                f"array 'y' in {path} must be 1-D with {X.shape[0]} entries, it has shape {y.shape}"
            )
        p = X.shape[1]
        if name_arr is not None and len(name_arr) == p:
            features = [str(s) for s in name_arr]
        else:
            features = [f"x{j}" for j in range(p)]
        Xf = _npz_matrix(X, "X", features, where)
        yf, classes = _prepare_target(y, "y", loss, where)
        return _Data(Xf, yf, features, "y", classes, path)
    matrices = [k for k, a in arrays.items() if a.ndim == 2]
    if len(arrays) != 1 or len(matrices) != 1:
        found = _list_names([f"{k} {arrays[k].shape}" for k in arrays]) or "no arrays"
        raise _CLIError(f"{path} must hold arrays X and y, or a single 2-D array (found: {found})")
    key = matrices[0]
    M = arrays[key]
    if M.shape[1] < 2 or M.shape[0] < 2:
        raise _CLIError(f"array {key!r} in {path} has shape {M.shape}: need 2 rows and 2 columns")
    if name_arr is not None and len(name_arr) == M.shape[1]:
        names = [str(s) for s in name_arr]
    else:
        names = [str(j) for j in range(M.shape[1])]
    _check_unique(names, path)
    t = _resolve_target(target, names, path)
    keep = [j for j in range(M.shape[1]) if j != t]
    features = [names[j] if name_arr is not None else f"x{j}" for j in keep]
    Xf = _npz_matrix(M[:, keep], key, features, where)
    target_name = names[t] if name_arr is not None else f"column {t}"
    yf, classes = _prepare_target(M[:, t], target_name, loss, where)
    return _Data(Xf, yf, features, target_name, classes, path)


def _read_svmlight(path: str, loss: str) -> _Data:
    """Parse ``label index:value ...`` lines (``#`` comments, ``qid:`` ignored) densely."""
    labels, lines, rows, cols, vals = [], [], [], [], []
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            tokens = line.split()
            if ":" in tokens[0]:
                raise _CLIError(
                    f"line {lineno} of {path} starts with {tokens[0]!r}: "
                    "each svmlight line starts with its label"
                )
            i = len(labels)
            labels.append(tokens[0])
            lines.append(lineno)
            for tok in tokens[1:]:
                key, sep, val = tok.partition(":")
                if not sep:
                    raise _CLIError(f"line {lineno} of {path}: expected index:value, got {tok!r}")
                if key == "qid":
                    continue
                if not key.isdigit():
                    raise _CLIError(
                        f"line {lineno} of {path}: feature index {key!r} is not a "
                        "nonnegative integer"
                    )
                try:
                    value = float(val)
                except ValueError:
                    raise _CLIError(
                        f"line {lineno} of {path}: value {val!r} of feature {key} is not a number"
                    ) from None
                if not math.isfinite(value):
                    raise _CLIError(
                        f"line {lineno} of {path}: feature {key} has a non-finite value "
                        f"({val}): jaxreg needs finite numbers"
                    )
                rows.append(i)
                cols.append(int(key))
                vals.append(value)
    if len(labels) < 2:
        raise _CLIError(f"{path} has {len(labels)} samples: at least 2 are needed")
    if not cols:
        raise _CLIError(f"{path} has no features (no index:value pairs)")
    offset = 0 if min(cols) == 0 else 1  # libsvm indices start at 1; accept 0-based files
    p = max(cols) + 1 - offset
    X = np.zeros((len(labels), p))
    X[np.asarray(rows), np.asarray(cols) - offset] = vals
    features = [f"x{j + offset}" for j in range(p)]

    def where(i):
        return f"on line {lines[i]}"

    y, classes = _prepare_target(labels, "label", loss, where)
    return _Data(X, y, features, "label", classes, path)


def _load(path: str, fmt: str | None, target: str | None, loss: str, opts: _TableOptions) -> _Data:
    """Read ``path`` in format ``fmt`` (default: from the extension).

    ``opts`` (text columns, missing values) applies to CSV files: NPZ and
    svmlight files hold numbers only, and svmlight has no missing cells.
    """
    if not os.path.exists(path):
        raise _CLIError(f"no such file: {path}")
    if os.path.isdir(path):
        raise _CLIError(f"{path} is a directory, not a data file")
    if fmt is None:
        ext = os.path.splitext(path)[1].lower()
        fmt = _EXTENSIONS.get(ext)
        if fmt is None:
            raise _UsageError(
                f"unknown format of {path} (extension {ext or 'none'!r}): "
                "use .csv, .npz, .svm/.svmlight/.libsvm or --format csv|npz|svmlight"
            )
    if fmt == "svmlight" and target is not None:
        raise _UsageError("--target does not apply to svmlight files (the label comes first)")
    try:
        if fmt == "csv":
            return _read_csv(path, target, loss, opts)
        if fmt == "npz":
            return _read_npz(path, target, loss)
        return _read_svmlight(path, loss)
    except UnicodeDecodeError:
        raise _CLIError(f"cannot read {path} as {fmt} text: it is not UTF-8 text") from None
    except csv.Error as err:
        raise _CLIError(f"cannot parse {path} as CSV: {err}") from None


# ----------------------------------------------------------------------------
# models
# ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Model:
    """How the commands run one model: its public solvers and which options apply."""

    label: str  # a str.format template over l1_ratio and penalty (L1, L2, elastic net ...)
    fit: Callable[..., Any]  # fit(X, y, alpha, [l1_ratio,] **kwargs)
    path: Callable[..., Any]  # path(X, y, [l1_ratio,] **kwargs), or path(X, y, alphas, **kwargs)
    mixing: bool  # takes an l1_ratio
    # Ridge: solved exactly (no tol or max_iter); no alpha_max to start a grid
    # from, so its path takes an explicit one; leave-one-out and GCV come cheap.
    closed_form: bool


_MODELS = {
    "lasso": _Model("lasso", jaxreg.lasso, jaxreg.lasso_path, mixing=False, closed_form=False),
    "elastic_net": _Model(
        "elastic net (l1_ratio {l1_ratio:g})",
        jaxreg.elastic_net,
        jaxreg.enet_path,
        mixing=True,
        closed_form=False,
    ),
    "ridge": _Model("ridge", jaxreg.ridge, jaxreg.ridge_path, mixing=False, closed_form=True),
    "logistic": _Model(
        "logistic ({penalty})",
        jaxreg.logistic,
        jaxreg.logistic_path,
        mixing=True,
        closed_form=False,
    ),
    "multinomial": _Model(
        "multinomial ({penalty})",
        jaxreg.multinomial,
        jaxreg.multinomial_path,
        mixing=True,
        closed_form=False,
    ),
}


@dataclasses.dataclass(frozen=True)
class _Loss:
    """What ``--loss`` implies for the response and for the model."""

    binary_target: bool  # two classes, mapped to 0 and 1
    models: dict[str, str]  # --penalty -> key of _MODELS
    categories: bool = False  # class labels, mapped to 0..K-1


_LOSSES = {
    "squared": _Loss(False, {"l1": "lasso", "l2": "ridge", "elasticnet": "elastic_net"}),
    "logistic": _Loss(True, dict.fromkeys(("l1", "l2", "elasticnet"), "logistic")),
    "multinomial": _Loss(
        False, dict.fromkeys(("l1", "l2", "elasticnet"), "multinomial"), categories=True
    ),
}


@dataclasses.dataclass(frozen=True)
class _Spec:
    """The model the options describe."""

    model: str  # a key of _MODELS
    loss: str
    penalty: str
    l1_ratio: float
    fit_intercept: bool
    standardize: bool
    tol: float
    max_iter: int

    @property
    def info(self) -> _Model:
        return _MODELS[self.model]

    @property
    def label(self) -> str:
        pen = {"l1": "L1", "l2": "L2"}.get(self.penalty, f"elastic net {self.l1_ratio:g}")
        return self.info.label.format(l1_ratio=self.l1_ratio, penalty=pen)

    def l1_ratio_args(self) -> tuple[float, ...]:
        """The l1_ratio argument of the solvers, for the models that take one."""
        return (self.l1_ratio,) if self.info.mixing else ()

    def kwargs(self) -> dict[str, Any]:
        kw = dict(fit_intercept=self.fit_intercept, standardize=self.standardize)
        if not self.info.closed_form:
            kw.update(tol=self.tol, max_iter=self.max_iter)
        return kw


def _spec(args) -> _Spec:
    if args.penalty != "elasticnet" and args.l1_ratio is not None:
        raise _UsageError(f"--l1-ratio applies to --penalty elasticnet, not {args.penalty}")
    l1_ratio = {"l1": 1.0, "l2": 0.0}.get(args.penalty, args.l1_ratio)
    if l1_ratio is None:
        l1_ratio = 0.5
    if not 0.0 <= l1_ratio <= 1.0:  # also rejects nan
        raise _UsageError(f"--l1-ratio must be in [0, 1], got {args.l1_ratio:g}")
    if not (args.tol > 0 and math.isfinite(args.tol)):
        raise _UsageError(f"--tol must be a positive number, got {args.tol}")
    if not 1 <= args.max_iter <= INT32_MAX:
        raise _UsageError(f"--max-iter must be between 1 and {INT32_MAX}, got {args.max_iter}")
    return _Spec(
        model=_LOSSES[args.loss].models[args.penalty],
        loss=args.loss,
        penalty=args.penalty,
        l1_ratio=float(l1_ratio),
        fit_intercept=not args.no_intercept,
        standardize=bool(args.standardize),
        tol=float(args.tol),
        max_iter=int(args.max_iter),
    )


def _ridge_grid(X, fit_intercept: bool, standardize: bool, n_alphas: int, eps: float):
    """Ridge has no alpha_max: span the scale of the (centered, scaled) squared design."""
    Xc = X - X.mean(axis=0) if fit_intercept else X
    if standardize:
        sd = Xc.std(axis=0)
        Xc = Xc / np.where(sd > 0, sd, 1.0)
    scale = float(np.sum(Xc * Xc)) / X.shape[1]
    top = 1e3 * (scale if scale > 0 else 1.0)
    return top * np.geomspace(1.0, eps, n_alphas)


def _grid(spec: _Spec, data: _Data, args):
    """The alpha grid for path and cv: ``--alphas``, else None (the solvers' default)."""
    if args.alphas is not None:
        return np.sort(args.alphas)[::-1]
    n_alphas = args.n_alphas
    if spec.info.closed_form:
        eps = 1e-8 if args.eps is None else args.eps
        return _ridge_grid(data.X, spec.fit_intercept, spec.standardize, n_alphas, eps)
    if spec.l1_ratio == 0.0:
        # No alpha_max for a pure L2 penalty: start where l1_ratio = 1e-3 zeroes
        # everything, as glmnet does for alpha = 0.
        top = float(
            jaxreg.alpha_max(
                data.X,
                data.y,
                1e-3,
                loss=spec.loss,
                fit_intercept=spec.fit_intercept,
                standardize=spec.standardize,
            )
        )
        eps = 1e-4 if args.eps is None else args.eps
        return top * np.geomspace(1.0, eps, n_alphas)
    return None


def _fit(spec: _Spec, X, y, alpha: float):
    return spec.info.fit(X, y, alpha, *spec.l1_ratio_args(), **spec.kwargs())


def _path(spec: _Spec, X, y, alphas, n_alphas: int, eps: float | None):
    kw = spec.kwargs()
    if spec.info.closed_form:
        return spec.info.path(X, y, alphas, **kw)
    kw.update(alphas=alphas, n_alphas=n_alphas, eps=1e-3 if eps is None else eps)
    return spec.info.path(X, y, *spec.l1_ratio_args(), **kw)


def _cross_validate(spec: _Spec, X, y, alphas, n_alphas: int, eps, folds, seed: int):
    kw = spec.kwargs()
    if not spec.info.closed_form:
        kw.update(n_alphas=n_alphas, eps=1e-3 if eps is None else eps)
    l1_ratio = spec.l1_ratio if spec.info.mixing else None
    return jaxreg.cross_validate(
        X, y, spec.model, l1_ratio=l1_ratio, alphas=alphas, cv=folds, seed=seed, **kw
    )


# ----------------------------------------------------------------------------
# plots
# ----------------------------------------------------------------------------


def _figure_classes():
    """matplotlib's Figure and Agg canvas (no pyplot, no global backend); None if missing."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    return Figure, FigureCanvasAgg


def _figure(title: str, draw: Callable[[Any], Any]):
    """A fresh Agg figure (no pyplot, no global backend) with ``draw`` on its axes."""
    classes = _figure_classes()
    if classes is None:
        raise _CLIError(f"plots need matplotlib: {_INSTALL_PLOT}")
    Figure, FigureCanvasAgg = classes
    fig = Figure(figsize=(7.5, 4.6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    draw(ax)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def _write_figure(filename: str, fig) -> None:
    try:
        fig.savefig(filename, dpi=150)
    except (OSError, ValueError) as err:
        raise _CLIError(f"cannot write plot {filename}: {err}") from None


def _save_plot(filename: str, title: str, draw: Callable[[Any], Any]) -> None:
    """Draw on a fresh figure and write it to ``filename``."""
    _write_figure(filename, _figure(title, draw))


def _path_plot_options(
    X, standardize: bool, ridge_alphas=None, fit_intercept: bool = True
) -> dict[str, Any]:
    """What plot_path needs beyond the path: the columns' scales where the fit
    standardized (the coefficients then show on the scale they were penalized
    on), and the effective degrees of freedom of a ridge path, where the
    eigendecomposition they need is cheap."""
    options: dict[str, Any] = {}
    if standardize:
        options["scale"] = jaxreg.plot.column_scale(X, fit_intercept=fit_intercept)
    n, p = X.shape
    # effective_df forms a p x p Gram matrix (n p^2) and its eigenvalues (p^3).
    if ridge_alphas is not None and p * p * max(n, p) <= 1e9:
        options["df"] = jaxreg.plot.effective_df(
            X, ridge_alphas, fit_intercept=fit_intercept, standardize=standardize
        )
    return options


def _check_plot_target(filename: str | None) -> None:
    """Fail before any fitting if ``--plot`` cannot be written."""
    if filename is None:
        return
    if _figure_classes() is None:
        raise _CLIError(f"--plot needs matplotlib: {_INSTALL_PLOT}")
    parent = os.path.dirname(os.path.abspath(filename))
    if not os.path.isdir(parent):
        raise _UsageError(f"--plot {filename}: directory {parent} does not exist")
    Figure, FigureCanvasAgg = _figure_classes()
    formats = FigureCanvasAgg(Figure()).get_supported_filetypes()
    ext = os.path.splitext(filename)[1].lstrip(".").lower()
    if ext not in formats:
        raise _UsageError(
            f"--plot {filename}: the file name must end in an image format "
            f"(.png, .pdf, .svg, ...; supported: {', '.join(sorted(formats))})"
        )


# ----------------------------------------------------------------------------
# output helpers
# ----------------------------------------------------------------------------


def _json_value(x):
    """Arrays and scalars as JSON values (non-finite floats become null)."""
    a = np.asarray(x)
    if a.dtype == bool or a.dtype.kind in "iu":
        return a.tolist()
    a = a.astype(np.float64)
    if a.ndim == 0:
        return float(a) if np.isfinite(a) else None
    return np.where(np.isfinite(a), a, None).tolist()


def _status_name(code) -> str:
    return jaxreg.Status(int(code)).name


def _describe(data: _Data) -> str:
    n, p = data.X.shape
    return f"{data.source}: {n} samples x {p} features, target {data.target!r}"


def _base_json(command: str, spec: _Spec, data: _Data) -> dict[str, Any]:
    return {
        "command": command,
        "model": spec.model,
        "loss": spec.loss,
        "penalty": spec.penalty,
        "l1_ratio": spec.l1_ratio,
        "fit_intercept": spec.fit_intercept,
        "standardize": spec.standardize,
        "n_samples": int(data.X.shape[0]),
        "n_features": int(data.X.shape[1]),
        "features": data.features,
        "target": data.target,
        "classes": data.classes,
    }


def _fit_json(fit) -> dict[str, Any]:
    return {
        "coef": _json_value(fit.coef),
        "intercept": _json_value(fit.intercept),
        "gap": _json_value(fit.gap),
        "gap_tol": _json_value(fit.gap_tol),
        "converged": bool(fit.converged),
        "status": _status_name(fit.status),
        "n_iter": int(fit.n_iter),
        "objective": _json_value(fit.objective),
    }


def _classes(data: _Data, coef: np.ndarray) -> dict[str, np.ndarray]:
    """A multinomial model's coefficients ``(p, K)`` as one column per class."""
    return {str(c): coef[:, k] for k, c in enumerate(data.classes)}


def _nonzero_features(coef: np.ndarray) -> np.ndarray:
    """Features with a nonzero coefficient at each grid point of a path (for
    some class of a multinomial path, whose coefficients are ``(A, p, K)``)."""
    nonzero = coef != 0
    if coef.ndim == 3:
        nonzero = np.any(nonzero, axis=-1)
    return np.count_nonzero(nonzero, axis=1)


def _intercepts(data: _Data, intercept) -> str:
    """The intercept, or a multinomial model's per class."""
    b = np.asarray(intercept, dtype=np.float64)
    if b.ndim == 0:
        return f"{float(b):.6g}"
    return ", ".join(f"{c} {v:.6g}" for c, v in zip(data.classes, b, strict=True))


def _print_coefficients(features: list[str], columns: dict[str, np.ndarray]) -> None:
    """Coefficient table; with many features only the largest of the first column."""
    first = next(iter(columns.values()))
    order = np.arange(len(features))
    if len(features) > _MAX_LISTED:
        order = np.argsort(-np.abs(first), kind="stable")[:_MAX_LISTED]
        print(
            f"({len(features)} features: the {_MAX_LISTED} largest in magnitude; --json lists all)"
        )
    width = max(10, *(len(f) + 2 for f in features))
    print(f"{'feature':<{width}}" + "".join(f"{k:>16}" for k in columns))
    for j in order:
        cells = "".join(f"{c[j] + 0.0:>16.6g}" for c in columns.values())
        print(f"{features[j]:<{width}}" + cells)


def _warn_unconverged(statuses, standardize: bool) -> None:
    """A warning on stderr (even with --quiet) when some fit is not certified."""
    codes = np.asarray(statuses).ravel()
    bad = int(np.count_nonzero(codes != int(jaxreg.Status.CONVERGED)))
    if bad:
        worst = _status_name(codes[codes != 0][0])
        print(
            f"warning: {bad} of {codes.size} fits not certified converged (e.g. {worst}); "
            "try a larger --max-iter or --tol"
            + ("" if standardize else ", or leave out --no-standardize"),
            file=sys.stderr,
        )


# ----------------------------------------------------------------------------
# commands
# ----------------------------------------------------------------------------


def _cmd_fit(args, spec: _Spec, data: _Data) -> int:
    n, p = data.X.shape
    with _Progress(f"fitting {spec.label} on {n} x {p}", args.quiet):
        fit = jax.block_until_ready(_fit(spec, data.X, data.y, args.alpha))
    _warn_unconverged(fit.status, spec.standardize)
    coef = np.asarray(fit.coef, dtype=np.float64)
    if args.plot:
        _save_plot(
            args.plot,
            f"{spec.label}, alpha = {args.alpha:g} ({os.path.basename(data.source)})",
            lambda ax: _plot_fit(
                ax, _classes(data, coef) if coef.ndim == 2 else {spec.label: coef}, data.features
            ),
        )
    if args.json:
        out = _base_json("fit", spec, data) | {"alpha": args.alpha} | _fit_json(fit)
        print(json.dumps(out))
        return 0
    print(f"{spec.label} on {_describe(data)}")
    print(f"alpha {args.alpha:g}, intercept {_intercepts(data, fit.intercept)}")
    gap, gap_tol = float(fit.gap), float(fit.gap_tol)
    # The comparison printed is the one that holds (NaN compares as neither).
    relation = "<=" if gap <= gap_tol else (">" if gap > gap_tol else "vs")
    print(
        f"converged: {'yes' if bool(fit.converged) else 'NO'} ({_status_name(fit.status)}; "
        f"duality gap {gap:.2e} {relation} {gap_tol:.2e}; "
        f"{int(fit.n_iter)} iterations)"
    )
    if coef.ndim == 2:
        kept = int(np.count_nonzero(np.any(coef != 0, axis=1)))
        print(f"{kept} of {p} features with a nonzero coefficient\n")
        _print_coefficients(data.features, _classes(data, coef))
    else:
        print(f"{np.count_nonzero(coef)} of {p} coefficients nonzero\n")
        _print_coefficients(data.features, {"coef": coef})
    if args.plot:
        print(f"\nwrote {args.plot}")
    return 0


def _plot_fit(ax, coefs: dict[str, np.ndarray], features: list[str]):
    first = next(iter(coefs.values()))
    keep = np.arange(len(features))
    if len(features) > _MAX_LISTED:
        keep = np.sort(np.argsort(-np.abs(first), kind="stable")[:_MAX_LISTED])
    sub = {k: v[keep] for k, v in coefs.items()}
    return jaxreg.plot.plot_coefficients(sub, names=[features[j] for j in keep], ax=ax)


def _cmd_path(args, spec: _Spec, data: _Data) -> int:
    if args.plot and _LOSSES[spec.loss].categories:
        raise _UsageError("--plot draws no multinomial path (one curve per class and feature)")
    alphas = _grid(spec, data, args)
    n, p = data.X.shape
    A = args.n_alphas if alphas is None else len(alphas)
    with _Progress(f"solving {spec.label} path: {A} alphas on {n} x {p}", args.quiet):
        path = jax.block_until_ready(_path(spec, data.X, data.y, alphas, args.n_alphas, args.eps))
    _warn_unconverged(path.status, spec.standardize)
    grid = np.asarray(path.alphas, dtype=np.float64)
    coef = np.asarray(path.coef, dtype=np.float64)
    nnz = _nonzero_features(coef)
    multi = coef.ndim == 3
    if args.plot:
        _save_plot(
            args.plot,
            f"{spec.label} path ({os.path.basename(data.source)}"
            + (", standardized)" if spec.standardize else ")"),
            lambda ax: jaxreg.plot.plot_path(
                path,
                names=data.features,
                **_path_plot_options(
                    data.X,
                    spec.standardize,
                    grid if spec.model == "ridge" else None,
                    spec.fit_intercept,
                ),
                ax=ax,
            ),
        )
    if args.json:
        out = _base_json("path", spec, data) | {
            "alphas": _json_value(grid),
            "coef": _json_value(coef),
            "intercept": _json_value(path.intercept),
            "n_nonzero": nnz.tolist(),
            "gap": _json_value(path.gap),
            "gap_tol": _json_value(path.gap_tol),
            "converged": np.asarray(path.converged).tolist(),
            "status": [_status_name(s) for s in np.asarray(path.status)],
            "n_iter": np.asarray(path.n_iter).tolist(),
        }
        print(json.dumps(out))
        return 0
    print(f"{spec.label} path on {_describe(data)}")
    print(f"{len(grid)} alphas from {grid.max():.4g} down to {grid.min():.4g}\n")
    icpt = "" if multi else "intercept"
    print(f"{'alpha':>12}{'nonzeros':>10}{icpt:>14}{'gap':>11}{'converged':>11}")
    for i in range(len(grid)):
        b = "" if multi else f"{float(path.intercept[i]):.6g}"
        print(
            f"{grid[i]:>12.4g}{nnz[i]:>10d}{b:>14}"
            f"{float(path.gap[i]):>11.2e}{'yes' if bool(path.converged[i]) else 'NO':>11}"
        )
    if spec.l1_ratio > 0:
        active = np.any(coef != 0, axis=-1) if multi else coef != 0  # (A, p)
        entered = [
            (float(grid[np.argmax(active[:, j])]), f)
            for j, f in enumerate(data.features)
            if np.any(active[:, j])
        ]
        entered.sort(key=lambda t: -t[0])
        shown = ", ".join(f"{f} ({a:.3g})" for a, f in entered[:_MAX_LISTED])
        more = f", ... ({len(entered)} in all)" if len(entered) > _MAX_LISTED else ""
        print(f"\nfeatures in order of entry (alpha): {shown or 'none'}{more}")
    print("\ncoefficients at the smallest alpha:")
    if multi:
        print(f"alpha {grid[-1]:.3g}, intercept {_intercepts(data, path.intercept[-1])}")
        _print_coefficients(data.features, _classes(data, coef[-1]))
    else:
        _print_coefficients(data.features, {f"alpha {grid[-1]:.3g}": coef[-1]})
    if args.plot:
        print(f"\nwrote {args.plot}")
    return 0


def _parse_folds(folds: str, spec: _Spec, n: int):
    if folds in ("loo", "gcv"):
        if not spec.info.closed_form:
            raise _UsageError(f"--folds {folds} is for --penalty l2 with the squared loss")
        return folds
    try:
        k = int(folds)
    except ValueError:
        raise _UsageError(
            f"--folds must be an integer (or loo / gcv for ridge), got {folds!r}"
        ) from None
    if not 2 <= k <= n:
        raise _UsageError(f"--folds must be between 2 and the number of samples ({n}), got {k}")
    return k


def _cmd_cv(args, spec: _Spec, data: _Data) -> int:
    n, p = data.X.shape
    folds = _parse_folds(args.folds, spec, n)
    if spec.info.closed_form and folds not in ("loo", "gcv") and p > n:
        raise _UsageError(
            f"K-fold ridge needs n_samples >= n_features ({n} < {p}); use --folds loo"
        )
    alphas = _grid(spec, data, args)
    A = args.n_alphas if alphas is None else len(alphas)
    fold_words = {"loo": "leave-one-out", "gcv": "generalized CV"}.get(folds, f"{folds} folds")
    label = f"cross-validating {spec.label}: {fold_words} x {A} alphas on {n} x {p}"
    with _Progress(label, args.quiet):
        res = jax.block_until_ready(
            _cross_validate(spec, data.X, data.y, alphas, args.n_alphas, args.eps, folds, args.seed)
        )
    statuses = np.concatenate([np.ravel(res.fold_status), np.ravel(res.path.status)])
    _warn_unconverged(statuses, spec.standardize)
    li, ai = (int(i) for i in res.best_index)
    grid = np.asarray(res.alphas[li], dtype=np.float64)
    mean = np.asarray(res.mean[li], dtype=np.float64)
    se = np.asarray(res.se[li], dtype=np.float64)
    nnz = np.asarray(res.n_nonzero[li])
    i1 = int(np.flatnonzero(grid == float(res.alpha_1se))[0])
    coef_min = np.asarray(res.best.coef, dtype=np.float64)
    coef_1se = np.asarray(res.best_1se.coef, dtype=np.float64)
    fold_ok = bool(np.all(np.asarray(res.fold_status) == 0))
    multi = coef_min.ndim == 2
    if args.plot:
        _save_plot(
            args.plot,
            f"{spec.label}: {fold_words} ({os.path.basename(data.source)})",
            lambda ax: jaxreg.plot.plot_cv(
                res,
                df=_path_plot_options(data.X, spec.standardize, grid, spec.fit_intercept).get("df")
                if spec.model == "ridge"
                else None,
                ax=ax,
            ),
        )
    if args.json:
        out = _base_json("cv", spec, data) | {
            "folds": folds,
            "seed": args.seed,
            "scoring": res.scoring,
            "alphas": _json_value(grid),
            "mean": _json_value(mean),
            "se": _json_value(se),
            "n_nonzero": nnz.tolist(),
            "alpha_min": float(res.alpha_min),
            "alpha_1se": float(res.alpha_1se),
            "score_min": float(mean[ai]),
            "score_1se": float(mean[i1]),
            **_fit_json(res.best),
            "alpha": float(res.alpha_min),
            "coef_1se": _json_value(coef_1se),
            "intercept_1se": _json_value(res.best_1se.intercept),
            "folds_converged": fold_ok,
            "path_converged": bool(np.all(np.asarray(res.path.status) == 0)),
        }
        print(json.dumps(out))
        return 0
    print(f"{spec.label}, {fold_words} on {_describe(data)}")
    print(f"{len(grid)} alphas from {grid.max():.4g} down to {grid.min():.4g}\n")
    score = f"CV {res.scoring}"
    print(f"{'alpha':>12}{score:>14}{'se':>12}{'nonzeros':>10}")
    for i in range(len(grid)):
        mark = "  <- alpha_min" if i == ai else ("  <- alpha_1se" if i == i1 else "")
        if i == ai and i == i1:
            mark = "  <- alpha_min = alpha_1se"
        print(f"{grid[i]:>12.4g}{mean[i]:>14.6g}{se[i]:>12.4g}{nnz[i]:>10d}{mark}")
    print(
        f"\nalpha_min {float(res.alpha_min):.6g} ({score} {mean[ai]:.6g}, "
        f"{nnz[ai]} nonzero); alpha_1se {float(res.alpha_1se):.6g} "
        f"({score} {mean[i1]:.6g}, {nnz[i1]} nonzero)"
    )
    print(
        f"intercept {_intercepts(data, res.best.intercept)} at alpha_min, "
        f"{_intercepts(data, res.best_1se.intercept)} at alpha_1se; all fold fits certified: "
        f"{'yes' if fold_ok else 'NO'}\n"
    )
    if multi:
        print("coefficients at alpha_min (refit on all the data):")
        _print_coefficients(data.features, _classes(data, coef_min))
    else:
        print("coefficients (refit on all the data):")
        _print_coefficients(data.features, {"alpha_min": coef_min, "alpha_1se": coef_1se})
    if args.plot:
        print(f"\nwrote {args.plot}")
    return 0


def _cmd_data(args) -> int:
    """fit / path / cv: validate options, read the file, run the command."""
    spec = _spec(args)
    if getattr(args, "n_alphas", 2) < 2:
        raise _UsageError(f"--n-alphas must be at least 2, got {args.n_alphas}")
    eps = getattr(args, "eps", None)
    if eps is not None and not 0 < eps < 1:
        raise _UsageError(f"--eps must be in (0, 1), got {eps}")
    alphas = getattr(args, "alphas", None)
    if alphas is not None and (
        len(alphas) < 2 or not np.all(np.isfinite(alphas)) or np.any(alphas < 0)
    ):
        raise _UsageError("--alphas must list at least 2 finite numbers >= 0")
    if getattr(args, "single_alpha", None) is not None:
        raise _UsageError(
            f"{args.command} explores a grid of alphas: give it with --alphas a,b,c or "
            "--n-alphas N (jaxreg fit --alpha fits one)"
        )
    if args.command == "fit" and args.alpha is None:
        raise _UsageError("fit needs --alpha (jaxreg path / jaxreg cv explore a grid)")
    if args.command == "fit" and not (args.alpha >= 0 and math.isfinite(args.alpha)):
        raise _UsageError(f"--alpha must be a finite number >= 0, got {args.alpha:g}")
    _check_plot_target(args.plot)
    table = _TableOptions(args.categorical, args.dropna, args.quiet)
    data = _load(args.file, args.format, args.target, args.loss, table)
    if data.classes is not None:
        mapped = ", ".join(f"{c!r} -> {k}" for k, c in enumerate(data.classes))
        _note(f"{args.loss} loss: target {data.target!r} classes {mapped}", args.quiet)
    command = {"fit": _cmd_fit, "path": _cmd_path, "cv": _cmd_cv}[args.command]
    return command(args, spec, data)


def _float_list(text: str) -> np.ndarray:
    try:
        return np.asarray([float(s) for s in text.replace(",", " ").split()], dtype=np.float64)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None


# ----------------------------------------------------------------------------
# demo
# ----------------------------------------------------------------------------


def _demo_figures(rows, names, X) -> dict[str, Any]:
    """The demo's figures, by file name: each model's path (standardized
    coefficients) and CV curves, and the coefficients side by side."""
    figures = {}
    for key, label, res in rows:
        li = int(res.best_index[0])
        path = jax.tree.map(lambda a, li=li: a[li], res.path)
        ridge = key == "ridge"
        grid = np.asarray(path.alphas) if ridge else None
        options = _path_plot_options(X, True, grid)
        figures[f"{key}_path.png"] = _figure(
            f"{label}: coefficient path (diabetes, standardized)",
            lambda ax, path=path, options=options: jaxreg.plot.plot_path(
                path, names=names, **options, ax=ax
            ),
        )
        df = options.get("df")
        figures[f"{key}_cv.png"] = _figure(
            f"{label}: cross-validation",
            lambda ax, res=res, df=df: jaxreg.plot.plot_cv(res, df=df, ax=ax),
        )
    # Per standard deviation of each feature, so the bars are comparable.
    scale = jaxreg.plot.column_scale(X)
    coefs = {label: np.asarray(res.best.coef) * scale for _, label, res in rows}
    figures["coefficients.png"] = _figure(
        "coefficients at alpha_min, per standard deviation of the feature (x = dropped by L1)",
        lambda ax: jaxreg.plot.plot_coefficients(coefs, names=names, ax=ax),
    )
    return figures


def _demo_plots(out_dir: str, rows, names, X) -> list[str]:
    """The demo's figures written as PNG files to ``out_dir``."""
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for name, fig in _demo_figures(rows, names, X).items():
        target = os.path.join(out_dir, name)
        _write_figure(target, fig)
        written.append(target)
    return written


def _demo_results(X, y, n_alphas: int, seed: int, folds: int, quiet: bool):
    """The demo's three cross-validations: ``(key, label, CVResult)`` rows, and
    table rows with the selected indices, certification and time."""
    common = dict(cv=folds, seed=seed, standardize=True)
    models = [
        ("lasso", "lasso", dict(model="lasso", n_alphas=n_alphas, tol=1e-6)),
        (
            "enet",
            "elastic net",
            dict(model="elastic_net", l1_ratio=list(_DEMO_L1_RATIOS), n_alphas=n_alphas, tol=1e-6),
        ),
        ("ridge", "ridge", dict(model="ridge", alphas=_ridge_grid(X, True, True, n_alphas, 1e-8))),
    ]
    rows, table = [], []
    for key, label, kw in models:
        L = len(kw.get("l1_ratio", [1]))
        what = f"{L} l1_ratios x " if L > 1 else ""
        with _Progress(f"{label}: {folds} folds x {what}{n_alphas} alphas", quiet) as prog:
            res = jax.block_until_ready(jaxreg.cross_validate(X, y, **kw, **common))
        li, ai = (int(i) for i in res.best_index)
        if key == "enet":
            label = f"enet (l1_ratio {float(res.l1_ratio_min):g})"
        ok = bool(np.all(np.asarray(res.fold_status) == 0)) and bool(
            np.all(np.asarray(res.path.status) == 0)
        )
        rows.append((key, label, res))
        table.append((label, res, li, ai, ok, prog.elapsed))
    return rows, table


def demo(
    n_alphas: int = 50,
    seed: int = 0,
    *,
    folds: int = 5,
    out_dir: str | None = "jaxreg-demo",
    quiet: bool = False,
) -> int:
    """Lasso, elastic net and ridge on the diabetes data, alphas chosen by K-fold CV.

    Prints the chosen alphas, cross-validated mean squared errors and
    coefficients, and writes the coefficient paths and CV curves as PNG files
    to ``out_dir`` (skipped, with a note, when matplotlib is missing or
    ``out_dir`` is None). Returns 0 when every fit is certified by its duality
    gap, else 1.
    """
    jax.config.update("jax_enable_x64", True)
    X, y, names = load_diabetes()
    n, p = X.shape
    print(
        f"{_DIABETES_SOURCE} (see jaxreg/data/README.md): {n} patients, {p} features; "
        f"{folds}-fold cross-validation over {n_alphas} alphas, standardized features"
    )
    rows, table = _demo_results(X, y, n_alphas, seed, folds, quiet)
    print(
        f"\n{'model':<24}{'alpha_min':>11}{'CV MSE':>10}{'nonzeros':>10}{'+- se':>8}"
        f"{'alpha_1se':>11}{'nonzeros':>10}{'certified':>11}{'time (s)':>10}"
    )
    for label, res, li, ai, ok, elapsed in table:
        print(
            f"{label:<24}{float(res.alpha_min):>11.4g}{float(res.mean[li, ai]):>10.1f}"
            f"{int(np.count_nonzero(res.best.coef)):>10d}{float(res.se[li, ai]):>8.1f}"
            f"{float(res.alpha_1se):>11.4g}{int(np.count_nonzero(res.best_1se.coef)):>10d}"
            f"{'yes' if ok else 'NO':>11}{elapsed:>10.2f}"
        )
    print(
        "(ridge alphas are on scikit-learn's Ridge scale, ||y - Xw||^2 + alpha ||w||^2: "
        f"divide by n = {n} to compare; times include JAX compilation, which the elastic "
        "net shares with the lasso)"
    )
    print("\ncoefficients at alpha_min, refit on all the data (original units; 0 = dropped by L1):")
    print(f"{'feature':<10}" + "".join(f"{t[0]:>24}" for t in table))
    for j, feat in enumerate(names):
        print(f"{feat:<10}" + "".join(f"{float(t[1].best.coef[j]) + 0.0:>24.4g}" for t in table))

    if out_dir is not None:
        if _figure_classes() is None:
            print(
                f"\nplots skipped: matplotlib is not installed (install it with {_INSTALL_PLOT}"
                " or pip install matplotlib)"
            )
        else:
            written = _demo_plots(out_dir, rows, names, X)
            print(
                f"\nwrote {len(written)} plots to {out_dir}: "
                + ", ".join(os.path.basename(w) for w in written)
            )
    all_ok = all(t[4] for t in table)
    print(
        "\nevery fit on every grid point and fold is certified by its duality gap: "
        + ("yes" if all_ok else "NO")
    )
    return 0 if all_ok else 1


# ----------------------------------------------------------------------------
# entry point
# ----------------------------------------------------------------------------


def _add_demo(sub) -> None:
    p_demo = sub.add_parser(
        "demo",
        help="lasso, elastic net and ridge on shipped data, alphas chosen by K-fold CV",
        description="Lasso, elastic net and ridge on the shipped diabetes data, each penalty "
        "chosen by K-fold cross-validation; prints a table and writes path and CV plots "
        f"(PNG files; needs matplotlib: {_INSTALL_PLOT}).",
    )
    p_demo.add_argument("--n-alphas", type=int, default=50, help="grid size (default 50)")
    p_demo.add_argument("--folds", type=int, default=5, help="number of CV folds (default 5)")
    p_demo.add_argument("--seed", type=int, default=0, help="fold shuffling seed (default 0)")
    p_demo.add_argument(
        "--out-dir", default="jaxreg-demo", help="where the PNG plots go (default ./jaxreg-demo)"
    )
    p_demo.add_argument("--no-plots", action="store_true", help="print the table only")
    p_demo.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    _add_cache_option(p_demo)


def _add_data_options(parser: _Parser) -> None:
    parser.add_argument(
        "file",
        help="data file: .csv/.tsv with a header row, .npz (arrays X and y, or one 2-D "
        "array), or svmlight/libsvm text (.svm, .svmlight, .libsvm)",
    )
    parser.add_argument(
        "--format",
        choices=["csv", "npz", "svmlight"],
        help="file format (default: from the extension)",
    )
    parser.add_argument(
        "--target",
        help="response column, a name or a 0-based index, negative from the end (CSV or a "
        "single-array NPZ; default: the last column; a column name wins over an index)",
    )
    parser.add_argument(
        "--categorical",
        choices=["encode", "drop", "error"],
        default="encode",
        help="text feature columns of a CSV file (a column is text when a non-missing cell "
        "is not a number): one-hot encode them into NAME=LEVEL columns, leaving out the "
        "first level in sorted order (default), leave them out, or stop with an error",
    )
    parser.add_argument(
        "--dropna",
        action="store_true",
        help="drop the rows of a CSV file with a missing cell (empty, NA, NaN, N/A, null, "
        "none, ?) in a feature or the target, text columns included (default: stop with "
        "an error)",
    )


def _add_model_options(parser: _Parser) -> None:
    parser.add_argument(
        "--loss",
        choices=list(_LOSSES),
        default="squared",
        help="squared (regression, default), logistic (two classes, mapped to 0/1) or "
        "multinomial (two classes or more: the target's values read as categories)",
    )
    parser.add_argument(
        "--penalty",
        choices=["l1", "l2", "elasticnet"],
        default="l1",
        help="l1 (lasso, default), l2 (ridge; squared loss on scikit-learn's Ridge scale) or "
        "elasticnet",
    )
    parser.add_argument("--l1-ratio", type=float, help="elastic-net mixing in [0, 1] (default 0.5)")
    parser.add_argument(
        "--standardize",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="penalize the coefficients of the standardized columns, as glmnet does by "
        "default; the coefficients printed are on the original scale (default: on; "
        "--no-standardize penalizes the coefficients of the columns as they are)",
    )
    parser.add_argument("--no-intercept", action="store_true", help="fit no intercept")


def _add_solver_options(parser: _Parser) -> None:
    parser.add_argument(
        "--tol", type=float, default=1e-4, help="duality-gap tolerance (default 1e-4)"
    )
    parser.add_argument(
        "--max-iter", type=int, default=20_000, help="iteration limit (default 20000)"
    )


def _add_output_options(parser: _Parser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object, nothing else")
    parser.add_argument("--plot", metavar="FILE.png", help="write a plot (needs matplotlib)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress or notes on stderr")
    _add_cache_option(parser)


def _add_cache_option(parser: _Parser) -> None:
    parser.add_argument(
        "--no-compilation-cache",
        action="store_true",
        help=(
            "do not keep compiled programs on disk for the next run (kept by default, "
            f"see jaxreg.enable_compilation_cache; also off with {NO_CACHE_ENV}=1)"
        ),
    )


def _enable_cache(args) -> None:
    """The persistent compilation cache, unless turned off; a folder that
    cannot be written is a note on stderr, not an error."""
    if args.no_compilation_cache or cache_disabled_by_env():
        return
    try:
        jaxreg.enable_compilation_cache()
    except OSError as err:
        if not args.quiet:
            print(f"note: no compilation cache ({err})", file=sys.stderr)


def _grid_options() -> _Parser:
    """The alpha grid of path and cv, as a parent parser."""
    grid = _Parser(add_help=False)
    grid.add_argument("--n-alphas", type=int, default=100, help="grid size (default 100)")
    grid.add_argument(
        "--eps",
        type=float,
        help="smallest / largest alpha of the grid (default 1e-3; for a pure L2 penalty "
        "1e-8 with the squared loss, 1e-4 with the logistic loss)",
    )
    grid.add_argument(
        "--alphas", type=_float_list, help="explicit grid, comma-separated (overrides the above)"
    )
    return grid


def _add_data_commands(sub) -> None:
    """fit, path and cv: the options they share (in this order in --help), then their own."""
    common = _Parser(add_help=False)
    _add_data_options(common)
    _add_model_options(common)
    _add_solver_options(common)
    _add_output_options(common)
    grid = _grid_options()

    p_fit = sub.add_parser(
        "fit", parents=[common], help="fit at one alpha", description="Fit at one alpha."
    )
    p_fit.add_argument(
        "--alpha",
        type=float,
        help="penalty strength (required), >= 0; for --penalty l2 with the squared loss on "
        "scikit-learn's Ridge scale, ||y - Xw||^2 + alpha ||w||^2",
    )
    p_path = sub.add_parser(
        "path",
        parents=[common, grid],
        help="fit along a grid of alphas",
        description="Fit along a grid of alphas (from alpha_max down, by default).",
    )
    p_cv = sub.add_parser(
        "cv",
        parents=[common, grid],
        help="K-fold cross-validation along a grid of alphas",
        description="K-fold cross-validation along a grid of alphas: alpha_min, alpha_1se "
        "and the refits on all the data.",
    )
    p_cv.add_argument(
        "--folds", default="5", help="number of folds (default 5), or loo / gcv for ridge"
    )
    p_cv.add_argument("--seed", type=int, default=0, help="fold shuffling seed (default 0)")
    for grid_command in (p_path, p_cv):
        # Caught to point at --alphas, rather than argparse's "unrecognized".
        grid_command.add_argument("--alpha", dest="single_alpha", help=argparse.SUPPRESS)


def _build_parser() -> _Parser:
    parser = _Parser(
        prog="jaxreg",
        description=jaxreg.__doc__,
        epilog="Run 'jaxreg COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=jaxreg.__version__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_demo(sub)
    _add_data_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``jaxreg`` console script.

    Returns the exit status (0 success, 1 unusable data). Bad options raise
    ``SystemExit(2)`` after a one-line message on stderr, as argparse does.
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    _enable_cache(args)
    prog = f"jaxreg {args.command}"
    try:
        if args.command == "demo":
            if args.n_alphas < 2:
                raise _UsageError("--n-alphas must be at least 2")
            if args.folds < 2 or args.folds > 442:
                raise _UsageError(f"--folds must be between 2 and 442, got {args.folds}")
            return demo(
                args.n_alphas,
                args.seed,
                folds=args.folds,
                out_dir=None if args.no_plots else args.out_dir,
                quiet=args.quiet,
            )
        return _cmd_data(args)
    except _CLIError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        if err.status == 2:
            raise SystemExit(2) from None
        return err.status
    except BrokenPipeError:  # e.g. `jaxreg path data.csv | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (ValueError, OSError) as err:  # from the solvers or the file system
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
