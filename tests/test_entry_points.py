"""Console scripts on an install that lacks their extra: one line naming it, exit 1."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from ulde.entry_points import COMMANDS

BLOCKED = textwrap.dedent("""
    import importlib.abc, sys
    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "tensorflow", "onnx2tf", "wfdb", "scipy"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    sys.meta_path.insert(0, Blocker())
    from ulde.entry_points import run
    sys.exit(run(sys.argv[1], sys.argv[2:]))
""")
ARGUMENTS = {"ulde-data": ["--help"], "ulde-train": ["--help"], "ulde-eval": ["--help"],
             "ulde-export": ["--out", "never-written"]}


@pytest.mark.parametrize("command", ["ulde-data", "ulde-train", "ulde-eval", "ulde-export"])
def test_a_command_without_its_extra_names_the_extra(command, tmp_path):
    result = subprocess.run([sys.executable, "-c", BLOCKED, command] + ARGUMENTS[command], capture_output=True,
                            text=True, timeout=120, cwd=tmp_path)
    extra = COMMANDS[command][1]
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().count("\n") == 0 and f"pip install 'ulde[{extra}]'" in result.stderr
    assert result.stderr.startswith(f"{command}: error: needs ") and not (tmp_path / "never-written").exists()


def test_the_denoise_command_runs_without_the_training_stack():
    result = subprocess.run([sys.executable, "-c", BLOCKED, "ulde-denoise", "--help"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and "usage: ulde-denoise" in result.stdout


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_reaches_its_help(command):
    from ulde.entry_points import run

    with pytest.raises(SystemExit) as exit_info:
        run(command, ["--help"])
    assert exit_info.value.code == 0
