"""The wheel holds every module of the three packages, under benign.*, and nothing generic."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"theory": "benign/theory", "empirical": "benign/empirical", "bridge": "benign/bridge"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)],
        check=True,
    )
    (whl,) = out.glob("benign-*.whl")
    return whl


def test_wheel_contains_every_module(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"{prefix}/{src.relative_to(ROOT / folder).as_posix()}"
        for folder, prefix in PACKAGES.items()
        for src in (ROOT / folder).rglob("*.py")
    }
    missing = sorted(expected - names)
    assert not missing, f"modules missing from the wheel (add their package to pyproject.toml): {missing}"


def test_wheel_installs_nothing_generic(wheel):
    tops = {n.split("/")[0] for n in zipfile.ZipFile(wheel).namelist()}
    assert tops <= {"benign", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}


def test_console_script_declared(wheel):
    zf = zipfile.ZipFile(wheel)
    (ep,) = [n for n in zf.namelist() if n.endswith("entry_points.txt")]
    assert "benign = benign.bridge.cli:main" in zf.read(ep).decode()


def test_theory_imports_without_torch():
    code = (
        "import sys, importlib, pkgutil, benign.theory as t\n"
        "for m in pkgutil.walk_packages(t.__path__, 'benign.theory.'):\n"
        "    importlib.import_module(m.name)\n"
        "assert 'torch' not in sys.modules, 'benign.theory imported torch'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
