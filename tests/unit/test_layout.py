"""The import contracts of the layout (pyproject.toml [tool.importlinter], ``make lint``)
really bite: ``lint-imports`` passes on a copy of crawler/ as it is, and fails, naming
the contract, on a copy with one forbidden import added."""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.support.paths import BIN, ROOT

CONTRACTS = [
    contract["name"]
    for contract in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"
    ]
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the package and its pyproject.toml, to break."""
    shutil.copytree(ROOT / "crawler", tmp_path / "crawler",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint_imports(project: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` as ``make lint`` runs it, on the copy (first on the path, ahead of
    the installed package)."""
    env = {**os.environ, "PYTHONPATH": str(project)}
    return subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache"],
        cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def add_line(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(f"\n{line}\n")


def test_the_package_as_it_is_keeps_every_contract(project: Path):
    result = lint_imports(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout
    for name in CONTRACTS:
        assert f"{name} KEPT" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("core/identity.py", "import crawler.archive.directory",
         "core is a leaf: it imports nothing of the project"),
        ("extract/prose.py", "import scrapy",
         "Scrapy and Twisted only in the Scrapy-facing packages"),
        ("extract/article.py", "from crawler.warc import reader",
         "extract runs in worker processes: it imports only core"),
        ("tools/verify.py", "import crawler.pipelines",
         "tools import plain packages only, never a Scrapy-facing one"),
        ("warc/reader.py", "import crawler.commands.verify",
         "Nothing outside the commands imports them"),
        ("core/outcomes.py", "import crawler.core.manifest",  # manifest imports outcomes
         "No import cycle anywhere (between any siblings, at every depth)"),
    ],
)  # fmt: skip
def test_a_forbidden_import_breaks_its_contract(project: Path, module, line, contract):
    assert contract in CONTRACTS  # (a contract renamed in pyproject.toml: rename it here)
    add_line(project / "crawler" / module, f"{line}  # noqa")
    result = lint_imports(project)
    assert result.returncode != 0, result.stdout
    assert f"{contract} BROKEN" in result.stdout
    assert f".{Path(module).stem} -> " in result.stdout  # the import that broke it, named
