"""The command line (demo, fit, path, cv) and the examples run end to end."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import _jaxreg_oracles as oracle
import numpy as np
import pytest

import jaxreg
from jaxreg import cli

ROOT = pathlib.Path(__file__).resolve().parents[1]
COEF = np.array([2.0, 0.0, -1.0, 0.0, 0.5])


def _run(argv, capsys):
    """cli.main in-process: (exit status, stdout, stderr), argparse exits included."""
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def _write_csv(path, names, columns):
    rows = zip(*columns, strict=True)
    text = ",".join(names) + "\n"
    text += "".join(
        ",".join(v if isinstance(v, str) else f"{v:.17g}" for v in r) + "\n" for r in rows
    )
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5))
    X[np.abs(X) < 0.3] = 0.0  # some exact zeros, left out of the svmlight file
    y = X @ COEF + 0.3 * rng.standard_normal(40)
    return X, y


@pytest.fixture
def files(tmp_path, data):
    X, y = data
    names = ["a", "b", "c", "d", "e"]
    out = {
        "csv": _write_csv(tmp_path / "d.csv", names + ["resp"], [*X.T, y]),
        "classes": _write_csv(
            tmp_path / "c.csv", names + ["cls"], [*X.T, np.where(y > 0, "yes", "no")]
        ),
        "npz": tmp_path / "d.npz",
        "matrix": tmp_path / "m.npz",
        "svm": tmp_path / "d.svm",
    }
    np.savez(out["npz"], X=X, y=y)
    # A single 2-D array with the response first, and column names.
    np.savez(out["matrix"], data=np.column_stack([y, X]), columns=np.array(["resp", *names]))
    lines = [
        f"{t:.17g} " + " ".join(f"{j + 1}:{v:.17g}" for j, v in enumerate(r) if v != 0)
        for r, t in zip(X, y, strict=True)
    ]
    out["svm"].write_text("# svmlight test data\n" + "\n".join(lines) + "\n")
    return out


# ----------------------------------------------------------------------------
# demo
# ----------------------------------------------------------------------------


def test_demo_fits_and_certifies(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default --out-dir is ./jaxreg-demo
    assert cli.main(["demo", "--n-alphas", "12"]) == 0
    out, err = capsys.readouterr()
    assert "442 patients" in out
    assert "Least Angle Regression" in out.splitlines()[0]
    assert "certified by its duality gap: yes" in out
    lasso_nonzeros = int(out.split("\nlasso")[1].split()[2])
    assert 0 < lasso_nonzeros <= 10
    assert "5 folds x 12 alphas ... done in" in err
    assert " 0 " in out.split("0 = dropped by L1")[1]  # an exact zero in the lasso column
    pngs = sorted(p.name for p in (tmp_path / "jaxreg-demo").iterdir())
    assert pngs == sorted(
        [f"{m}_{k}.png" for m in ("lasso", "enet", "ridge") for k in ("path", "cv")]
        + ["coefficients.png"]
    )
    assert all((tmp_path / "jaxreg-demo" / p).stat().st_size > 10_000 for p in pngs)


def test_demo_without_matplotlib_prints_table(capsys, tmp_path, monkeypatch):
    for mod in ("matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, mod, None)
    code = cli.main(["demo", "--n-alphas", "12", "--out-dir", str(tmp_path / "plots"), "-q"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert "plots skipped: matplotlib is not installed" in out
    assert "pip install 'jaxreg[plot]'" in out
    assert "\nridge" in out
    assert not (tmp_path / "plots").exists()


def test_demo_rejects_bad_grid(capsys):
    with pytest.raises(SystemExit):
        cli.main(["demo", "--n-alphas", "1"])
    assert "--n-alphas must be at least 2" in capsys.readouterr().err


# ----------------------------------------------------------------------------
# fit / path / cv: numbers against the functional API
# ----------------------------------------------------------------------------


def test_fit_csv_matches_lasso(files, data, capsys):
    X, y = data
    ref = jaxreg.lasso(X, y, 0.1)
    argv = ["fit", files["csv"], "--alpha", "0.1", "--no-standardize"]
    code, out, err = _run([*argv, "--json"], capsys)
    assert code == 0
    res = json.loads(out)  # stdout is exactly one JSON object
    np.testing.assert_allclose(res["coef"], np.asarray(ref.coef), rtol=0, atol=1e-10)
    assert abs(res["intercept"] - float(ref.intercept)) < 1e-10
    assert res["converged"] is True and res["status"] == "CONVERGED"
    assert res["gap"] <= res["gap_tol"]
    # The reported certificate holds for the objective evaluated outside jaxreg.
    spec = oracle.Spec(X, y, 0.1)
    w, b, p_star = oracle.solve(spec)
    subopt = oracle.primal(spec, np.array(res["coef"]), res["intercept"]) - p_star
    assert subopt <= res["gap"] + 1e-13 * abs(p_star)
    np.testing.assert_allclose(res["coef"], w, atol=1e-4)
    assert res["features"] == ["a", "b", "c", "d", "e"] and res["target"] == "resp"
    assert res["alpha"] == 0.1 and res["model"] == "lasso" and res["standardize"] is False
    assert "fitting lasso on 40 x 5 ... done in" in err

    # The readable table shows the same numbers, and --quiet silences stderr.
    code, out, err = _run([*argv, "-q"], capsys)
    assert code == 0 and err == ""
    assert "converged: yes" in out
    row = next(line for line in out.splitlines() if line.startswith("c "))
    assert float(row.split()[1]) == pytest.approx(float(ref.coef[2]), rel=1e-5)


def test_fit_npz_svmlight_and_target_column_agree(files, data, capsys):
    X, y = data
    ref = np.asarray(jaxreg.lasso(X, y, 0.1, standardize=True).coef)
    for argv in (
        [files["npz"]],
        [files["matrix"], "--target", "resp"],
        [files["matrix"], "--target", "0"],
        [files["svm"]],
    ):
        code, out, _ = _run(["fit", *argv, "--alpha", "0.1", "--json", "-q"], capsys)
        assert code == 0, argv
        res = json.loads(out)
        np.testing.assert_allclose(res["coef"], ref, rtol=0, atol=1e-10)
    assert res["features"] == ["x1", "x2", "x3", "x4", "x5"]  # svmlight: 1-based indices


def test_fit_ridge_and_elastic_net(files, data, capsys):
    X, y = data
    ref = jaxreg.ridge(X, y, 3.0, standardize=True)
    code, out, _ = _run(
        ["fit", files["csv"], "--penalty", "l2", "--alpha", 3, "--standardize", "--json"], capsys
    )
    assert code == 0
    np.testing.assert_allclose(json.loads(out)["coef"], np.asarray(ref.coef), atol=1e-10)

    ref = jaxreg.elastic_net(X, y, 0.2, 0.3, fit_intercept=False, standardize=True)
    argv = ["fit", files["npz"], "--penalty", "elasticnet", "--l1-ratio", "0.3", "--alpha", "0.2"]
    code, out, _ = _run([*argv, "--no-intercept", "--json"], capsys)
    res = json.loads(out)
    np.testing.assert_allclose(res["coef"], np.asarray(ref.coef), atol=1e-10)
    assert res["intercept"] == 0.0 and res["l1_ratio"] == 0.3


def test_fit_logistic_maps_two_classes(files, data, capsys, tmp_path):
    X, y = data
    labels = (y > 0).astype(float)
    ref = jaxreg.logistic(X, labels, 0.05, standardize=True)
    png = tmp_path / "coef.png"
    argv = ["fit", files["classes"], "--loss", "logistic", "--alpha", "0.05", "--json"]
    code, out, err = _run([*argv, "--plot", png], capsys)
    assert code == 0
    res = json.loads(out)
    assert res["classes"] == ["no", "yes"]
    assert "classes 'no' -> 0, 'yes' -> 1" in err
    np.testing.assert_allclose(res["coef"], np.asarray(ref.coef), atol=1e-10)
    assert png.stat().st_size > 10_000


def test_path_matches_lasso_path_and_plots(files, data, capsys, tmp_path):
    X, y = data
    ref = jaxreg.lasso_path(X, y, n_alphas=6, standardize=True)
    png = tmp_path / "path.png"
    code, out, err = _run(["path", files["csv"], "--n-alphas", 6, "--json", "--plot", png], capsys)
    assert code == 0
    res = json.loads(out)
    np.testing.assert_allclose(res["alphas"], np.asarray(ref.alphas), rtol=1e-12)
    np.testing.assert_allclose(res["coef"], np.asarray(ref.coef), atol=1e-10)
    assert res["n_nonzero"][0] == 0 and all(res["converged"])
    assert "path: 6 alphas on 40 x 5 ... done in" in err
    assert png.stat().st_size > 10_000

    code, out, _ = _run(["path", files["csv"], "--n-alphas", 6, "-q"], capsys)
    assert code == 0
    assert "features in order of entry" in out and out.count("yes") == 6


def test_path_ridge_grid(files, data, capsys):
    X, y = data
    alphas = [100.0, 10.0, 1.0]
    code, out, _ = _run(
        ["path", files["npz"], "--penalty", "l2", "--alphas", "1,100,10", "--json", "-q"], capsys
    )
    assert code == 0
    res = json.loads(out)
    assert res["alphas"] == alphas  # sorted, decreasing
    ref = jaxreg.ridge_path(X, y, np.array(alphas), standardize=True)
    np.testing.assert_allclose(res["coef"], np.asarray(ref.coef), atol=1e-10)


def test_cv_matches_cross_validate_and_plots(files, data, capsys, tmp_path):
    X, y = data
    ref = jaxreg.cross_validate(X, y, "lasso", n_alphas=6, cv=4, seed=1, standardize=True)
    png = tmp_path / "cv.png"
    argv = ["cv", files["csv"], "--n-alphas", 6, "--folds", 4, "--seed", 1, "--json"]
    code, out, err = _run([*argv, "--plot", png], capsys)
    assert code == 0
    res = json.loads(out)
    assert res["alpha_min"] == pytest.approx(float(ref.alpha_min), rel=1e-12)
    assert res["alpha_1se"] == pytest.approx(float(ref.alpha_1se), rel=1e-12)
    np.testing.assert_allclose(res["mean"], np.asarray(ref.mean[0]), rtol=1e-10)
    np.testing.assert_allclose(res["se"], np.asarray(ref.se[0]), rtol=1e-10)
    np.testing.assert_allclose(res["coef"], np.asarray(ref.best.coef), atol=1e-10)
    np.testing.assert_allclose(res["coef_1se"], np.asarray(ref.best_1se.coef), atol=1e-10)
    assert res["folds_converged"] is True and res["scoring"] == "mse"
    assert "4 folds x 6 alphas on 40 x 5 ... done in" in err
    assert png.stat().st_size > 10_000

    code, out, _ = _run(argv[:-1] + ["-q"], capsys)
    assert code == 0
    assert "<- alpha_min" in out and "coefficients (refit on all the data)" in out


def test_cv_ridge_leave_one_out(files, data, capsys):
    X, y = data
    argv = ["cv", files["svm"], "--penalty", "l2", "--folds", "loo", "--alphas", "10,1,0.1"]
    code, out, _ = _run([*argv, "--json", "-q"], capsys)
    assert code == 0
    res = json.loads(out)
    ref = jaxreg.cross_validate(X, y, "ridge", alphas=[10.0, 1.0, 0.1], cv="loo", standardize=True)
    assert res["alpha_min"] == float(ref.alpha_min) and res["folds"] == "loo"
    np.testing.assert_allclose(res["mean"], np.asarray(ref.mean[0]), rtol=1e-10)


def test_json_on_stdout_only_in_a_subprocess(files):
    proc = subprocess.run(
        [sys.executable, "-m", "jaxreg", "fit", str(files["npz"]), "--alpha", "0.1", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["coef"]) == 5
    assert "done in" in proc.stderr


# ----------------------------------------------------------------------------
# raw tables: text columns, missing values, standardization by default
# ----------------------------------------------------------------------------

# The file's columns are x1, colour, x2, size, y: the one-hot columns take the
# place of their text column, the first level in sorted order left out.
ENCODED = ["x1", "colour=green", "colour=red", "x2", "size=S"]


@pytest.fixture(scope="module")
def raw():
    """A CSV-like table with two text columns, a missing number and a missing level.

    Complete, it has the shape of ``data`` (40 x 5), so its fits reuse the
    functions compiled for the tests above.
    """
    rng = np.random.default_rng(3)
    n = 42
    colour = np.array(["red", "green", "blue"])[np.arange(n) % 3]
    size = np.array(["S", "L"])[(np.arange(n) // 3) % 2]
    x1 = rng.standard_normal(n)
    x2 = 10.0 * rng.standard_normal(n)  # a different scale: standardization matters
    y = 1.5 * x1 + 0.2 * x2 + 2.0 * (colour == "red") - (size == "S") + rng.standard_normal(n)
    cells = {
        "x1": [f"{v:.17g}" for v in x1],
        "colour": list(colour),
        "x2": [f"{v:.17g}" for v in x2],
        "size": list(size),
        "y": [f"{v:.17g}" for v in y],
    }
    cells["x1"][4] = ""  # line 6 of the file
    cells["colour"][9] = "NA"
    complete = np.setdiff1d(np.arange(n), [4, 9])
    encoded = np.column_stack([x1, colour == "green", colour == "red", x2, size == "S"]).astype(
        np.float64
    )
    return {
        "cells": cells,
        "X": encoded[complete],  # by hand: what --dropna and the encoding should give
        "y": y[complete],
        "numeric": np.column_stack([x1, x2]),  # for --categorical drop
        "y_all": y,
    }


@pytest.fixture
def raw_csv(tmp_path, raw):
    cells = raw["cells"]
    return _write_csv(tmp_path / "raw.csv", list(cells), list(cells.values()))


def _table(out: str, names) -> dict[str, float]:
    """The rows of a printed coefficient table whose first word is one of ``names``."""
    rows = [line.split() for line in out.splitlines()]
    return {r[0]: float(r[1]) for r in rows if len(r) >= 2 and r[0] in names}


def test_csv_text_columns_one_hot_encoded_and_standardized(raw, raw_csv, capsys):
    X, y = raw["X"], raw["y"]
    argv = ["fit", raw_csv, "--alpha", 0.05, "--tol", 1e-10, "--dropna", "--json"]
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    res = json.loads(out)
    assert res["features"] == ENCODED
    assert res["n_samples"] == 40 and res["n_features"] == 5
    assert res["standardize"] is True
    ref = jaxreg.lasso(X, y, 0.05, standardize=True, tol=1e-10)
    np.testing.assert_allclose(res["coef"], np.asarray(ref.coef), rtol=0, atol=1e-8)
    assert abs(res["intercept"] - float(ref.intercept)) < 1e-8
    assert np.count_nonzero(res["coef"]) >= 3
    # On the original scale: the fit on the standardized matrix, divided by the scales.
    sd = X.std(axis=0)
    own = jaxreg.lasso((X - X.mean(axis=0)) / sd, y, 0.05, tol=1e-10)
    np.testing.assert_allclose(res["coef"], np.asarray(own.coef) / sd, rtol=0, atol=1e-6)
    dropped = (
        "--dropna: dropped 2 of 42 rows with missing values, in columns 'x1' (1), 'colour' (1)"
    )
    assert dropped in err
    assert "colour (3 levels, reference 'blue'); size (2 levels, reference 'L')" in err

    # --no-standardize penalizes the columns as they are, and says so.
    code, out, _ = _run([*argv, "--no-standardize", "-q"], capsys)
    plain = json.loads(out)
    assert code == 0 and plain["standardize"] is False
    ref = jaxreg.lasso(X, y, 0.05, tol=1e-10)
    np.testing.assert_allclose(plain["coef"], np.asarray(ref.coef), rtol=0, atol=1e-8)
    assert np.max(np.abs(np.subtract(plain["coef"], res["coef"]))) > 1e-3


def test_csv_categorical_drop_and_error(raw, raw_csv, capsys):
    argv = ["fit", raw_csv, "--alpha", 0.05, "--tol", 1e-10, "--dropna", "--json"]
    code, out, err = _run([*argv, "--categorical", "drop"], capsys)
    assert code == 0, err
    res = json.loads(out)
    assert res["features"] == ["x1", "x2"]
    # Only the missing x1 costs a row: the missing level is in a column left out.
    assert res["n_samples"] == 41
    keep = np.arange(42) != 4
    ref = jaxreg.lasso(raw["numeric"][keep], raw["y_all"][keep], 0.05, standardize=True, tol=1e-10)
    np.testing.assert_allclose(res["coef"], np.asarray(ref.coef), rtol=0, atol=1e-8)
    assert "--categorical drop: left out the text columns colour, size" in err
    assert "--dropna: dropped 1 of 42 rows with missing values, in column 'x1' (1)" in err

    code, out, err = _run([*argv, "--categorical", "error"], capsys)
    assert code == 1 and out == ""
    assert "column 'colour' is text ('red' on line 2)" in err
    assert "--categorical encode" in err and "--categorical drop" in err


def test_csv_missing_values_need_dropna(raw_csv, capsys):
    code, out, err = _run(["fit", raw_csv, "--alpha", 0.05], capsys)
    assert code == 1 and out == ""
    assert err.startswith("jaxreg fit: error: missing values in 2 of 42 rows of ")
    assert "(first on line 6), in columns 'x1' (1), 'colour' (1): use --dropna" in err
    assert err.count("\n") == 1


def test_fit_path_cv_print_one_hot_coefficients(raw, raw_csv, capsys, monkeypatch):
    X, y = raw["X"], raw["y"]
    plotted = []
    plot_coefficients = jaxreg.plot.plot_coefficients

    def record(coefs, *, names, ax):
        plotted.append(list(names))
        return plot_coefficients(coefs, names=names, ax=ax)

    monkeypatch.setattr(jaxreg.plot, "plot_coefficients", record)
    png = raw_csv.with_suffix(".png")
    argv = ["fit", raw_csv, "--alpha", 0.05, "--dropna", "-q", "--plot", png]
    code, out, err = _run(argv, capsys)
    assert code == 0 and err == ""
    printed = _table(out, ENCODED)
    ref = np.asarray(jaxreg.lasso(X, y, 0.05, standardize=True).coef)
    assert list(printed) == ENCODED
    np.testing.assert_allclose(list(printed.values()), ref, rtol=1e-5, atol=1e-12)
    assert plotted == [ENCODED] and png.stat().st_size > 10_000

    # The grids and folds of the tests above, compiled already.
    for command in (["path", "--n-alphas", 6], ["cv", "--n-alphas", 6, "--folds", 4, "--seed", 1]):
        code, out, err = _run([command[0], raw_csv, *command[1:], "--dropna", "-q"], capsys)
        assert code == 0, err
        assert "on " + str(raw_csv) + ": 40 samples x 5 features" in out
        assert list(_table(out, ENCODED)) == ENCODED, command[0]


def test_target_by_name_before_index(tmp_path, data, capsys):
    X, y = data
    path = _write_csv(tmp_path / "named.csv", ["a", "3", "c", "d", "e", "y"], [*X.T, y])
    for target, name in (("3", "3"), ("-1", "y"), ("0", "a"), ("y", "y")):
        argv = ["fit", path, "--alpha", 0.1, "--target", target, "--json", "-q"]
        code, out, err = _run(argv, capsys)
        assert code == 0, err
        assert json.loads(out)["target"] == name, target


# ----------------------------------------------------------------------------
# errors: exit status and a one-line message naming the problem
# ----------------------------------------------------------------------------


def _bad_files(tmp):
    (tmp / "bad.csv").write_text("a,b,y\n1,2,3\n4,abc,6\n7,8,9\n")
    (tmp / "nan.csv").write_text("a,b,y\n1,2,3\n4,5,6\n7,inf,9\n")
    (tmp / "missing.csv").write_text("a,b,y\n1,2,3\n4,,6\n7,8,9\n")
    (tmp / "gaps.csv").write_text("a,b,y\n1,,3\n4,5,NA\n7,8,9\n")
    (tmp / "text.csv").write_text("a,y\nu,1\nv,2\nw,3\n")
    (tmp / "three.csv").write_text("a,b,y\n1,2,0\n4,5,1\n7,8,2\n")
    (tmp / "data.dat").write_text("1 2 3\n")
    (tmp / "bad.svm").write_text("1 1:0.5 2:1\n0 1:zz\n")
    (tmp / "ok.csv").write_text("a,b,y\n1,2,3\n4,5,6\n7,8,9.5\n")
    (tmp / "dup.csv").write_text("a,b,a,y\n1,2,3,3\n4,5,6,6\n7,8,1,9.5\n")
    np.savez(tmp / "nan.npz", X=np.array([[1.0, 2.0], [np.nan, 1.0], [0.0, 1.0]]), y=np.ones(3))


ERRORS = [
    (["fit", "nope.csv", "--alpha", 1], 1, "no such file: nope.csv"),
    (["fit", "data.dat", "--alpha", 1], 2, "unknown format of data.dat"),
    (["fit", "ok.csv", "--alpha", 1, "--target", "z"], 2, "--target z: no such column in ok.csv"),
    (["fit", "ok.csv", "--alpha", 1, "--target", "z"], 2, "columns: a, b, y"),
    (
        ["fit", "bad.csv", "--alpha", 1, "--categorical", "error"],
        1,
        "column 'b' is text ('abc' on line 3): use --categorical encode",
    ),
    (
        ["fit", "missing.csv", "--alpha", 1],
        1,
        "missing values in 1 of 3 rows of missing.csv (first on line 3), in column 'b' (1): "
        "use --dropna",
    ),
    (["fit", "gaps.csv", "--alpha", 1, "--dropna"], 1, "--dropna leaves 1 of 3 rows of gaps.csv"),
    (
        ["fit", "text.csv", "--alpha", 1, "--categorical", "drop"],
        1,
        "every feature column is text (a): --categorical drop leaves no features",
    ),
    (
        ["fit", "ok.csv", "--alpha", 1, "--target", 3],
        2,
        "--target 3: index past the last column (ok.csv has 3 columns, indices 0-2, or -3 to -1",
    ),
    (["fit", "ok.csv", "--alpha", 1, "--target", -4], 2, "--target -4: index before the first"),
    (["fit", "nan.csv", "--alpha", 1], 1, "column 'b' has a non-finite value ('inf') on line 4"),
    (["fit", "nan.npz", "--alpha", 1], 1, "column 'x0' of array 'X' has a non-finite value (nan)"),
    (["fit", "bad.svm", "--alpha", 1], 1, "line 2 of bad.svm: value 'zz' of feature 1"),
    (["fit", "ok.csv", "--alpha", -1], 2, "--alpha must be a finite number >= 0, got -1"),
    (["fit", "ok.csv"], 2, "fit needs --alpha"),
    (["fit", "ok.csv", "--alpha", "x"], 2, "invalid float value: 'x'"),
    (
        ["fit", "ok.csv", "--alpha", 1, "--penalty", "elasticnet", "--l1-ratio", 1.5],
        2,
        "--l1-ratio must be in [0, 1], got 1.5",
    ),
    (["fit", "ok.csv", "--alpha", 1, "--l1-ratio", 0.5], 2, "--l1-ratio applies to"),
    (["fit", "ok.csv", "--alpha", 1, "--penalty", "l3"], 2, "invalid choice: 'l3'"),
    (["cv", "ok.csv", "--folds", 1], 2, "--folds must be between 2 and the number of samples (3)"),
    (["cv", "ok.csv", "--folds", 4], 2, "--folds must be between 2 and the number of samples (3)"),
    (["cv", "ok.csv", "--folds", "loo"], 2, "--folds loo is for --penalty l2"),
    (["path", "ok.csv", "--n-alphas", 1], 2, "--n-alphas must be at least 2"),
    (
        ["fit", "three.csv", "--alpha", 1, "--loss", "logistic"],
        1,
        "the logistic loss needs a target with two classes; 'y' has 3 classes: 0, 1, 2",
    ),
    (["fit", "ok.csv", "--alpha", 1, "--plot", "no/such/dir/p.png"], 2, "does not exist"),
    # Checked before the fit, as an option: it was written (and failed) after it.
    (["fit", "ok.csv", "--alpha", 1, "--plot", "out.txt"], 2, "must end in an image format"),
    # --alpha was taken as an abbreviation of --alphas.
    (["cv", "ok.csv", "--alpha", 0.1], 2, "cv explores a grid of alphas: give it with --alphas"),
    (["path", "ok.csv", "--alpha", 0.1], 2, "path explores a grid"),
    (["fit", "dup.csv", "--alpha", 1], 1, "column name 'a' appears twice (columns 0 and 2)"),
]


@pytest.mark.parametrize(("argv", "status", "message"), ERRORS)
def test_errors(argv, status, message, tmp_path, monkeypatch, capsys):
    _bad_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(argv, capsys)
    assert code == status
    assert out == ""
    assert message in err
    assert err.startswith(f"jaxreg {argv[0]}: error: ")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_plot_without_matplotlib_is_an_error(files, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    code, _, err = _run(["fit", files["csv"], "--alpha", 1, "--plot", "x.png"], capsys)
    assert code == 1 and "--plot needs matplotlib: pip install 'jaxreg[plot]'" in err


def test_error_in_a_subprocess_has_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "jaxreg", "cv", str(tmp_path / "none.npz")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        f"jaxreg cv: error: no such file: {tmp_path}/none.npz"
    ]


# ----------------------------------------------------------------------------
# examples
# ----------------------------------------------------------------------------


def test_quickstart_example_runs():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "status=CONVERGED" in proc.stdout


def test_tune_alpha_example_runs(tmp_path):
    out = tmp_path / "tune.png"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "tune_alpha.py"), "--smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "vs the grid" in proc.stdout
    assert out.stat().st_size > 10_000


def test_lasso_in_model_example_runs():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "lasso_in_model.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    first = float(lines[0].split(":")[1])
    last = float(lines[-1].split(":")[1])
    assert last < first  # training the features through the Lasso helps


def test_options_are_never_abbreviated(files, capsys):
    # --n-alpha used to pass for --n-alphas, and --alpha for --alphas.
    code, out, err = _run(["path", files["csv"], "--n-alpha", 5], capsys)
    assert code == 2 and "unrecognized arguments: --n-alpha 5" in err


@pytest.fixture
def three_classes(tmp_path, data):
    X, y = data
    labels = np.array(["low", "mid", "top"])[np.digitize(y, np.quantile(y, [0.33, 0.66]))]
    path = _write_csv(tmp_path / "k.csv", ["a", "b", "c", "d", "e", "kind"], [*X.T, labels])
    return path, np.unique(labels, return_inverse=True)[1].astype(float)


def test_multinomial_fit_path_and_cv(three_classes, data, capsys):
    X, _ = data
    csv, codes = three_classes
    ref = jaxreg.multinomial(X, codes, 0.02, standardize=True)
    code, out, err = _run(["fit", csv, "--loss", "multinomial", "--alpha", 0.02, "--json"], capsys)
    assert code == 0
    res = json.loads(out)
    assert res["classes"] == ["low", "mid", "top"]
    assert "classes 'low' -> 0, 'mid' -> 1, 'top' -> 2" in err
    np.testing.assert_allclose(res["coef"], np.asarray(ref.coef), atol=1e-10)
    np.testing.assert_allclose(res["intercept"], np.asarray(ref.intercept), atol=1e-10)

    code, out, _ = _run(["fit", csv, "--loss", "multinomial", "--alpha", 0.02, "-q"], capsys)
    assert code == 0
    assert "intercept low " in out and "features with a nonzero coefficient" in out
    assert out.splitlines()[5].split() == ["feature", "low", "mid", "top"]

    path = jaxreg.multinomial_path(X, codes, n_alphas=5, standardize=True)
    code, out, _ = _run(["path", csv, "--loss", "multinomial", "--n-alphas", 5, "--json"], capsys)
    assert code == 0
    res = json.loads(out)
    np.testing.assert_allclose(res["coef"], np.asarray(path.coef), atol=1e-10)
    assert res["n_nonzero"] == np.asarray(path.n_nonzero).tolist()
    code, out, _ = _run(["path", csv, "--loss", "multinomial", "--n-alphas", 5, "-q"], capsys)
    assert code == 0 and "features in order of entry" in out

    code, out, _ = _run(
        ["cv", csv, "--loss", "multinomial", "--n-alphas", 5, "--folds", 3, "--json"], capsys
    )
    assert code == 0
    res = json.loads(out)
    assert res["scoring"] == "deviance" and len(res["mean"]) == 5
    assert np.asarray(res["coef"]).shape == (5, 3)


def test_multinomial_needs_two_classes_and_draws_no_path(three_classes, tmp_path, capsys):
    csv, _ = three_classes
    code, _, err = _run(
        ["path", csv, "--loss", "multinomial", "--plot", tmp_path / "p.png"], capsys
    )
    assert code == 2 and "multinomial path" in err
    one = _write_csv(tmp_path / "one.csv", ["a", "kind"], [np.arange(5.0), ["x"] * 5])
    code, _, err = _run(["fit", one, "--loss", "multinomial", "--alpha", 0.1], capsys)
    assert code == 1 and "two classes or more" in err
