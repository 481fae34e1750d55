"""Packaging: the wheel and the sdist carry the licence (PEP 639 metadata) and py.typed; the sdist carries
what its own tests need, and plain ``pytest`` in the unpacked sdist runs them against that tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

ROOT = Path(__file__).resolve().parent.parent


def clean_env() -> Dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Path]]:
    pytest.importorskip("build", reason="the 'build' package is not installed (it is in the test extra)")
    out = tmp_path_factory.mktemp("dist")
    # build from a copy: building writes zmtp.egg-info and build/ next to the sources
    src = out / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", "node_modules", "__pycache__", "*.egg-info", "build", "dist", ".venv*", ".*_cache", ".hypothesis"))
    proc = subprocess.run([sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out / "dist"),
                           str(src)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    wheels = list((out / "dist").glob("zmtp-*.whl"))
    sdists = list((out / "dist").glob("zmtp-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    yield {"wheel": wheels[0], "sdist": sdists[0], "tmp": out}


@pytest.mark.slow
def test_wheel_has_licence_and_py_typed(dists: Dict[str, Path]) -> None:
    with zipfile.ZipFile(dists["wheel"]) as z:
        names = z.namelist()
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = z.read(info).decode()
        licence = next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))
        assert z.read(licence) == (ROOT / "LICENSE").read_bytes()
    assert "zmtp/py.typed" in names
    assert "License-Expression: MPL-2.0" in metadata.splitlines()
    assert "License-File: LICENSE" in metadata.splitlines()
    assert not [n for n in names if n.startswith(("tests/", "interop/", "examples/"))]
    assert (ROOT / "LICENSE").read_text().startswith("Mozilla Public License Version 2.0")


@pytest.mark.slow
def test_sdist_carries_its_tests_and_runs_them(dists: Dict[str, Path]) -> None:
    with tarfile.open(dists["sdist"]) as t:
        names = t.getnames()
        top = names[0].split("/")[0]
        t.extractall(dists["tmp"] / "unpacked")
    tree = dists["tmp"] / "unpacked" / top
    rel = {n.split("/", 1)[1] for n in names if "/" in n}
    for needed in ("LICENSE", "zmtp/py.typed", "tests/socket_helpers.py", "tests/typing_samples/reveal.py",
                   "tests/examples_pyzmq/serialization/serialsocket.py", "tests/examples_pyzmq/LICENSE.md",
                   "tests/draft_options_peer.js", "interop/peers/pyzmq_peer.py", "interop/peers/zeromqjs/peer.js",
                   "examples/reqrep.py"):
        assert needed in rel, needed
    assert not [n for n in rel if "node_modules" in n or "__pycache__" in n]
    every_test = sorted(p.name for p in (ROOT / "tests").glob("test_*.py"))
    assert sorted(p.name for p in (tree / "tests").glob("test_*.py")) == every_test

    # every test module imports from the unpacked tree (a missing helper or data file fails here) ...
    collect = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
                             cwd=str(tree), capture_output=True, text=True, env=clean_env(), timeout=300)
    assert collect.returncode == 0, collect.stdout[-3000:] + collect.stderr[-3000:]
    assert " error" not in collect.stdout.splitlines()[-1]
    # ... and plain `pytest` there tests that tree's zmtp, not an installed one
    (tree / "tests" / "test_zz_which_zmtp.py").write_text(
        "import zmtp, pathlib\n"
        "def test_this_tree():\n"
        f"    assert pathlib.Path(zmtp.__file__).resolve().is_relative_to(pathlib.Path({str(tree.resolve())!r}))\n")
    pytest_bin = shutil.which("pytest", path=os.path.dirname(sys.executable)) or shutil.which("pytest")
    cmd: List[str] = [pytest_bin] if pytest_bin else [sys.executable, "-m", "pytest"]
    run = subprocess.run(cmd + ["-q", "-p", "no:cacheprovider", "tests/test_zz_which_zmtp.py",
                                "tests/test_constants.py", "tests/test_examples.py"],
                         cwd=str(tree), capture_output=True, text=True, env=clean_env(), timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert " passed" in run.stdout.splitlines()[-1]
