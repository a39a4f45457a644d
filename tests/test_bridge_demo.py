"""`benign demo --scale smoke` end to end: theory figure, training sweep, overlay, curves, report."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")


def _assert_image(path):
    from PIL import Image

    img = np.asarray(Image.open(path).convert("L"), dtype=float)
    assert img.shape[0] > 300 and img.shape[1] > 300, path
    assert img.std() > 10 and (img < 128).mean() > 0.005, f"{path} looks blank"


def test_demo_smoke_end_to_end(tmp_path, capsys):
    pytest.importorskip("benign.bridge.figures.phase_plot")
    from benign.bridge.cli import main

    out = tmp_path / "demo"
    assert main(["demo", "--scale", "smoke", "--out", str(out), "--executor", "debug"]) == 0
    printed = capsys.readouterr().out
    assert str(out / "report.html") in printed
    expected = ["theory_phase", "phase_overlay_raw", "modelwise", "epochwise", "sharpness_width",
                "sharpness_epoch", "agreement"]
    for stem in expected:
        for ext in ("pdf", "png", "csv"):
            assert (out / f"{stem}.{ext}").stat().st_size > 0, f"{stem}.{ext}"
        _assert_image(out / f"{stem}.png")
    html = (out / "report.html").read_text(encoding="utf-8")
    n_imgs = html.count('src="data:image/png;base64,')
    # + the normalised-axis overlay when some run interpolated (smoke runs may not)
    assert n_imgs == len(expected) + (out / "phase_overlay_normalized.png").exists()
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?!data:)""", html)
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 4 and set(runs["width"]) == {1, 2} and set(runs["noise_rate"]) == {0.0, 0.2}
    assert runs["regime"].isin(["benign", "tempered", "catastrophic", "not interpolating"]).all()
    wanted = {"ratio", "ratio_normalized", "predicted_regime", "predicted_regime_normalized"}
    assert wanted <= set(runs.columns)
    # the dataset is named on the page; a synthetic stand-in would be flagged
    dataset = runs["dataset"].iloc[0]
    assert dataset in html and (dataset != "synthetic" or "SYNTHETIC STAND-IN" in html)

    # resumable: a second call computes nothing and rewrites the same report
    assert main(["demo", "--scale", "smoke", "--out", str(out), "--executor", "debug"]) == 0
    assert "4 runs" in capsys.readouterr().out


def test_demo_rejects_unknown_dataset(capsys):
    from benign.bridge.cli import main

    with pytest.raises(SystemExit):
        main(["demo", "--dataset", "mnist"])
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("present, expected", [(["cifar10", "fashion-mnist", "synthetic"], "cifar10"),
                                               (["fashion-mnist", "synthetic"], "fashion-mnist"),
                                               (["synthetic"], "synthetic")])
def test_dataset_fallback_order(monkeypatch, present, expected):
    import benign.empirical.data as data
    from benign.bridge.demo import choose_dataset

    monkeypatch.setattr(data, "available_datasets", lambda: list(present))
    name, notes = choose_dataset("auto")
    assert name == expected
    assert any("SYNTHETIC STAND-IN" in n for n in notes) == (expected == "synthetic")
    if "cifar10" not in present:
        with pytest.raises(FileNotFoundError, match="cifar10"):
            choose_dataset("cifar10")


def test_demo_checks_executor_first_and_names_failed_runs(tmp_path, monkeypatch, capsys):
    pytest.importorskip("benign.bridge.figures.phase_plot")
    from benign.bridge import kinds as runners
    from benign.bridge.cli import main

    out = tmp_path / "demo"
    assert main(["demo", "--scale", "smoke", "--out", str(out), "--executor", "condor"]) == 2
    assert "unknown executor 'condor'" in capsys.readouterr().err and not out.exists()  # nothing done yet
    assert main(["demo", "--scale", "smoke", "--out", str(out), "--workers", "0"]) == 2
    assert "need at least 1 worker" in capsys.readouterr().err

    def broken(config, run_dir, *, device=None):
        raise RuntimeError("no GPU memory")

    monkeypatch.setitem(runners.KINDS, "train", runners.Kind("train", runners.KINDS["train"].config, broken))
    assert main(["demo", "--scale", "smoke", "--out", str(out), "--executor", "debug",
                 "--dataset", "synthetic"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "every run of the demo sweep failed" in err and "RuntimeError: no GPU memory" in err
