"""The package map holds: the domain core does no I/O, and no source file outgrows one concept."""

from __future__ import annotations

import subprocess
import sys

import pytest
from tests.conftest import REPO

SRC = REPO / "src"
# The shells and the adapters that may do I/O; everything else is the core.
IO_ALLOWED = ("coverage/web/", "coverage/cli/", "coverage/stores/", "coverage/eligibility/client.py")
IO_MODULES = ("sqlite3", "psycopg", "httpx", "litestar")


def core_modules() -> list[str]:
    modules = []
    for path in sorted((SRC / "coverage").rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative.startswith(IO_ALLOWED):
            continue
        modules.append(relative.removesuffix(".py").removesuffix("/__init__").replace("/", "."))
    return modules


def test_the_core_list_is_the_whole_core() -> None:
    # A sample the list must hold, so a broken walk cannot pass the test below by listing nothing.
    assert {"coverage.estimate", "coverage.pricing.engine", "coverage.eligibility.mapping"} <= set(
        core_modules()
    )
    assert "coverage.eligibility.client" not in core_modules()


@pytest.mark.parametrize("module", core_modules())
def test_a_core_module_loads_no_io_library(module: str) -> None:
    """Importing it (and all it imports) in a fresh interpreter loads none of sqlite3, psycopg, httpx,
    litestar."""
    probe = f"import sys, {module}\nprint(','.join(name for name in {IO_MODULES!r} if name in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout.strip()
    assert loaded == "", f"{module} loads {loaded}"


def test_the_probe_would_see_an_io_library() -> None:
    """The same probe on a module that may do I/O does see it (the test above can fail)."""
    probe = "import sys, coverage.stores.sqlite\nprint('sqlite3' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "True"


def test_the_probe_would_see_psycopg() -> None:
    """The PostgreSQL backend loads psycopg (so the list above names a library that can show up);
    the SQLite default does not."""
    probe = (
        "import sys, coverage.stores.database, coverage.web\n"
        "loaded = 'psycopg' in sys.modules\n"
        "import coverage.stores.postgres\n"
        "print(loaded, 'psycopg' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False True"


def test_the_cli_never_loads_the_web_framework() -> None:
    """A terminal command starts without Litestar: the CLI shares the core's words, not the web's."""
    commands = sorted(path.stem for path in (SRC / "coverage" / "cli").glob("*.py"))
    assert {"estimate", "batch", "verify", "gfe"} <= set(commands)
    probe = (
        "import sys, importlib\n"
        f"for name in {commands!r}: importlib.import_module('coverage.cli.' + name if name != '__init__' "
        "else 'coverage.cli')\n"
        "print('litestar' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.strip() == "False"


def test_only_the_batch_command_loads_polars_and_numba() -> None:
    """They take about 0.3 s to load; `coverage estimate` or `coverage verify` should not wait for them."""
    probe = (
        "import sys, coverage.cli\n"
        "print('polars' in sys.modules, 'numba' in sys.modules)\n"
        "import coverage.batch\n"
        "print('polars' in sys.modules, 'numba' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.split() == ["False", "False", "True", "True"]


def test_no_source_file_is_over_600_lines() -> None:
    sizes = {
        path.relative_to(SRC).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in (SRC / "coverage").rglob("*.py")
    }
    assert len(sizes) > 40
    assert {name: lines for name, lines in sizes.items() if lines > 600} == {}
