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
    code, out, err = _run(["fit", files["csv"], "--alpha", "0.1", "--json"], capsys)
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
    assert res["alpha"] == 0.1 and res["model"] == "lasso"
    assert "fitting lasso on 40 x 5 ... done in" in err

    # The readable table shows the same numbers, and --quiet silences stderr.
    code, out, err = _run(["fit", files["csv"], "--alpha", "0.1", "-q"], capsys)
    assert code == 0 and err == ""
    assert "converged: yes" in out
    row = next(line for line in out.splitlines() if line.startswith("c "))
    assert float(row.split()[1]) == pytest.approx(float(ref.coef[2]), rel=1e-5)


def test_fit_npz_svmlight_and_target_column_agree(files, data, capsys):
    X, y = data
    ref = np.asarray(jaxreg.lasso(X, y, 0.1).coef)
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

    ref = jaxreg.elastic_net(X, y, 0.2, 0.3, fit_intercept=False)
    argv = ["fit", files["npz"], "--penalty", "elasticnet", "--l1-ratio", "0.3", "--alpha", "0.2"]
    code, out, _ = _run([*argv, "--no-intercept", "--json"], capsys)
    res = json.loads(out)
    np.testing.assert_allclose(res["coef"], np.asarray(ref.coef), atol=1e-10)
    assert res["intercept"] == 0.0 and res["l1_ratio"] == 0.3


def test_fit_logistic_maps_two_classes(files, data, capsys, tmp_path):
    X, y = data
    labels = (y > 0).astype(float)
    ref = jaxreg.logistic(X, labels, 0.05)
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
    ref = jaxreg.lasso_path(X, y, n_alphas=6)
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
    ref = jaxreg.ridge_path(X, y, np.array(alphas))
    np.testing.assert_allclose(res["coef"], np.asarray(ref.coef), atol=1e-10)


def test_cv_matches_cross_validate_and_plots(files, data, capsys, tmp_path):
    X, y = data
    ref = jaxreg.cross_validate(X, y, "lasso", n_alphas=6, cv=4, seed=1)
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
    ref = jaxreg.cross_validate(X, y, "ridge", alphas=[10.0, 1.0, 0.1], cv="loo")
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
# errors: exit status and a one-line message naming the problem
# ----------------------------------------------------------------------------


def _bad_files(tmp):
    (tmp / "bad.csv").write_text("a,b,y\n1,2,3\n4,abc,6\n7,8,9\n")
    (tmp / "nan.csv").write_text("a,b,y\n1,2,3\n4,5,6\n7,inf,9\n")
    (tmp / "missing.csv").write_text("a,b,y\n1,2,3\n4,,6\n7,8,9\n")
    (tmp / "three.csv").write_text("a,b,y\n1,2,0\n4,5,1\n7,8,2\n")
    (tmp / "data.dat").write_text("1 2 3\n")
    (tmp / "bad.svm").write_text("1 1:0.5 2:1\n0 1:zz\n")
    (tmp / "ok.csv").write_text("a,b,y\n1,2,3\n4,5,6\n7,8,9.5\n")
    np.savez(tmp / "nan.npz", X=np.array([[1.0, 2.0], [np.nan, 1.0], [0.0, 1.0]]), y=np.ones(3))


ERRORS = [
    (["fit", "nope.csv", "--alpha", 1], 1, "no such file: nope.csv"),
    (["fit", "data.dat", "--alpha", 1], 2, "unknown format of data.dat"),
    (["fit", "ok.csv", "--alpha", 1, "--target", "z"], 1, "no target column 'z'"),
    (["fit", "ok.csv", "--alpha", 1, "--target", "z"], 1, "columns: a, b, y"),
    (["fit", "bad.csv", "--alpha", 1], 1, "column 'b' is not numeric: 'abc' on line 3"),
    (["fit", "missing.csv", "--alpha", 1], 1, "missing value '' in column 'b' on line 3"),
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
