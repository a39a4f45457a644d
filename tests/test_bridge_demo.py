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


def _offline(monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise OSError("no network in this test")

    monkeypatch.setattr(socket, "create_connection", refuse)


def test_demo_smoke_end_to_end_on_the_embedded_copy(tmp_path, monkeypatch, capsys):
    # a machine without Fashion-MNIST installed and without network: the data root is an empty folder
    pytest.importorskip("benign.bridge.figures.phase_plot")
    from benign.bridge.cli import main
    from benign.empirical.embedded import SUBSET_SOURCE

    _offline(monkeypatch)
    empty = tmp_path / "no-data"
    empty.mkdir()
    out = tmp_path / "demo"
    argv = ["demo", "--scale", "smoke", "--out", str(out), "--executor", "debug", "--data-root", str(empty)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert str(out / "report.html") in printed and "fashion-mnist-subset" in printed
    expected = ["theory_phase", "phase_overlay_raw", "modelwise", "epochwise", "sharpness_width",
                "sharpness_epoch", "agreement", "predictions"]
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
    assert runs["regime"].isin(["benign", "tempered", "catastrophic", "not interpolating",
                                "clean, overfits"]).all()
    assert not ((runs["noise_rate"] == 0) & (runs["regime"] == "tempered")).any()
    wanted = {"ratio", "ratio_normalized", "predicted_regime", "predicted_regime_normalized"}
    assert wanted <= set(runs.columns)
    # real Fashion-MNIST images from the embedded copy, and the page says so (from the runs' own records)
    assert set(runs["dataset"]) == {"fashion-mnist-subset"} and set(runs["data_source"]) == {SUBSET_SOURCE}
    assert f"Images read by the runs (their data_source): {SUBSET_SOURCE}." in html
    assert "SYNTHETIC" not in html and "Sharpness of clean vs noisy training points" in html

    # resumable: a second call computes nothing and rewrites the same report
    assert main(argv) == 0
    assert "4 runs" in capsys.readouterr().out


def test_demo_rejects_unknown_dataset(capsys):
    from benign.bridge.cli import main

    with pytest.raises(SystemExit):
        main(["demo", "--dataset", "mnist"])
    assert "invalid choice" in capsys.readouterr().err


def _touch(root, names):
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")


@pytest.mark.parametrize("present, expected, copy", [
    (["cifar10", "fashion-mnist"], "cifar10", "files at"),
    (["fashion-mnist"], "fashion-mnist", "full IDX at"),
    ([], "fashion-mnist-subset", "embedded subset (10,000/2,000)")])
def test_dataset_fallback_order_never_synthetic(tmp_path, monkeypatch, present, expected, copy):
    # auto: CIFAR-10, else the full Fashion-MNIST IDX files, else the embedded subset; never the stand-in
    from benign.bridge.demo import choose_dataset
    from benign.empirical.loaders import _FASHION_STEMS, CIFAR10_FILES

    _offline(monkeypatch)
    if "cifar10" in present:
        _touch(tmp_path / "cifar10", [f"cifar-10-batches-py/{f}" for f in CIFAR10_FILES])
    if "fashion-mnist" in present:
        _touch(tmp_path / "fashion-mnist", [f"{s}.gz" for t in (True, False) for s in _FASHION_STEMS[t]])
    name, notes = choose_dataset("auto", data_root=tmp_path)
    assert name == expected
    assert any(copy in n for n in notes) and not any("SYNTHETIC" in n for n in notes)
    if "cifar10" not in present:
        with pytest.raises(FileNotFoundError, match="CIFAR-10 is not under"):
            choose_dataset("cifar10", data_root=tmp_path)
    name, notes = choose_dataset("synthetic", data_root=tmp_path)  # only when asked for by name
    assert name == "synthetic" and "SYNTHETIC STAND-IN" in notes[0]


def test_download_goes_through_download_dataset(tmp_path, monkeypatch):
    # --download: CIFAR-10 first; when that fails, Fashion-MNIST; offline or both failing: the subset
    import benign.bridge.demo as demo
    import benign.empirical.data as data
    from benign.empirical.loaders import _FASHION_STEMS

    calls = []

    def fake_download(name, root=None):
        calls.append((name, root))
        if name == "cifar10":
            raise OSError("HTTP Error 503")
        _touch(root, [f"{s}.gz" for t in (True, False) for s in _FASHION_STEMS[t]])
        return f"full IDX at {root}"

    monkeypatch.setattr(data, "download_dataset", fake_download)
    monkeypatch.setattr(demo, "_online", lambda: False)
    assert demo.choose_dataset("auto", download=True, data_root=tmp_path)[0] == "fashion-mnist-subset"
    assert calls == []  # offline: nothing tried
    monkeypatch.setattr(demo, "_online", lambda: True)
    name, notes = demo.choose_dataset("auto", download=True, data_root=tmp_path)
    assert calls == [("cifar10", tmp_path / "cifar10"), ("fashion-mnist", tmp_path / "fashion-mnist")]
    assert name == "fashion-mnist" and any(f"full IDX at {tmp_path / 'fashion-mnist'}" in n for n in notes)


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


def test_train_download_flag_fetches_into_the_data_root(tmp_path, monkeypatch):
    import benign.empirical.data as data
    from benign.bridge.kinds.train import config_for_command, download_if_absent

    calls = []
    monkeypatch.setattr(data, "download_dataset", lambda name, root=None: calls.append((name, root)) or "ok")
    root = tmp_path / "fm"
    download_if_absent(config_for_command({}, {"dataset": "fashion-mnist", "data_root": str(root)}))
    assert calls == [("fashion-mnist", root)]
    with pytest.raises(ValueError, match="--download fetches cifar10 or fashion-mnist"):
        download_if_absent(config_for_command({}, {"dataset": "fashion-mnist-subset"}))
