"""The wheel is complete: UI assets, migrations and type marker inside, and it runs.

The wheel is built the way the Dockerfile builds it (`pip wheel --no-deps`, hatchling),
then installed into a fresh virtual environment that borrows the dependencies of the
environment running the tests (so nothing is downloaded) but not its editable install.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import agiletoolbox

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "agiletoolbox"


def run(*command: str | Path) -> str:
    """Run a command without this process's coverage hooks or import path; its stdout."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("COV_CORE_", "COVERAGE_")) and name != "PYTHONPATH"
    }
    env["PYTHONNOUSERSITE"] = "1"
    done = subprocess.run(  # noqa: S603 - our own interpreter and files
        [str(part) for part in command], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
        "--wheel-dir", out, ROOT)  # fmt: skip
    (built,) = out.glob("agiletoolbox-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel; its bin directory."""
    venv = tmp_path_factory.mktemp("venv")
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(
        run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    )
    # A bare path line: the directory's own .pth files (the editable install) stay unread.
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # --ignore-installed: the borrowed directory holds the editable install of the same
    # version, which pip would otherwise take for this one.
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
        "--ignore-installed",
        wheel)  # fmt: skip
    return venv / "bin"


def test_the_wheel_holds_every_file_of_the_package(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        path.relative_to(PACKAGE.parent).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert expected - names == set()


@pytest.mark.parametrize(
    "pattern",
    ["adapters/http/static/*.js", "adapters/http/static/*.css", "adapters/http/static/*.svg",
     "adapters/postgres/migrations/*.sql", "py.typed"],
)  # fmt: skip
def test_the_wheel_holds_the_assets(wheel: Path, pattern: str) -> None:
    sources = sorted(path.relative_to(PACKAGE.parent).as_posix() for path in PACKAGE.glob(pattern))
    assert sources, f"the source tree has no {pattern}"
    assert set(sources) <= set(zipfile.ZipFile(wheel).namelist())


def test_the_console_script_reports_the_version(installed: Path) -> None:
    assert run(installed / "agiletoolbox", "--version").strip() == (
        f"agiletoolbox {agiletoolbox.__version__}"
    )


def test_the_module_reports_the_version(installed: Path) -> None:
    out = run(installed / "python", "-m", "agiletoolbox", "--version")
    assert out.strip() == f"agiletoolbox {agiletoolbox.__version__}"


def test_the_installed_package_is_the_wheel_and_finds_its_assets(installed: Path) -> None:
    probe = (
        "from importlib.resources import files\n"
        "import agiletoolbox\n"
        "print(agiletoolbox.__file__)\n"
        "print(files('agiletoolbox.adapters.http').joinpath('static/room.js').is_file())\n"
        "print(files('agiletoolbox.adapters.postgres').joinpath('migrations').is_dir())\n"
    )
    where, script, migrations = run(installed / "python", "-c", probe).split()
    assert Path(where).is_relative_to(installed.parent), where
    assert (script, migrations) == ("True", "True")
