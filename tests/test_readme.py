"""The README's commands, run as a user runs them (on tiny synthetic data), and CI running its test command.

Every `kuaicore ...` line in the README's bash blocks is executed in order, with two substitutions that keep
the suite fast: paths under /tmp/ go to a temporary folder, and synthetic scales become `tiny`.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from kuaicore.cli import cli

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def kuaicore_lines(text: str) -> list[str]:
    """Each command line starting with `kuaicore`, trailing comment removed."""
    out = []
    for block in bash_blocks(text):
        for line in block.splitlines():
            line = line.split("  #", 1)[0].strip()
            if line.startswith("kuaicore "):
                out.append(line)
    return out


def test_first_screen_has_the_two_fresh_machine_commands():
    blocks = bash_blocks(README)
    install_and_run, install_and_test = blocks[0].strip(), blocks[1].strip()
    assert install_and_run.endswith("kuaicore demo") and 'pip install -e ".[dev]"' in install_and_run
    assert install_and_test.endswith("python -m pytest")
    assert README.index(install_and_test) < 2500  # on the first screen
    ci = (REPO / ".ci" / "run").read_text()
    assert install_and_test in ci  # CI runs the README's test command verbatim


def _run(args: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(cwd)
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, f"kuaicore {' '.join(args)}\n{res.output}"


def _substitute(line: str, tmp: Path) -> list[str]:
    line = line.replace("/tmp/", f"{tmp}/").replace("--scale small", "--scale tiny")
    return shlex.split(line)[1:]


def test_pipeline_commands_of_the_readme(tmp_path, monkeypatch):
    lines = [ln for ln in kuaicore_lines(README) if not ln.startswith("kuaicore demo")]
    assert len(lines) >= 12  # every stage is shown
    stages = {ln.split()[1] for ln in lines}
    expected = {"synth", "validate", "build-features", "train", "evaluate", "recommend", "compare", "report"}
    assert expected <= stages
    for line in lines:
        _run(_substitute(line, tmp_path), tmp_path, monkeypatch)
    assert (tmp_path / "report.html").stat().st_size > 10_000
    assert (tmp_path / "recs.parquet").is_file() and (tmp_path / "metrics.json").is_file()


@pytest.mark.parametrize("with_data", [False, True], ids=["synthetic", "own-download"])
def test_demo_commands_of_the_readme(tmp_path, tiny_data, with_data, monkeypatch):
    demos = [ln for ln in kuaicore_lines(README) if ln.startswith("kuaicore demo")]
    demos.append(bash_blocks(README)[0].split("&&")[-1].strip())  # the first command's main job
    line = next(d for d in demos if ("--data" in d) == with_data)
    args = _substitute(line, tmp_path)
    if with_data:  # a folder laid out as the KuaiRec zip unpacks: "KuaiRec 2.0/data/*.csv"
        import shutil

        shutil.copytree(tiny_data / "data", tmp_path / "KuaiRec 2.0" / "data")
    else:
        args += ["--scale", "tiny"]
    _run(args, tmp_path, monkeypatch)
    folder = tmp_path / (args[-1] if with_data else "kuaicore-demo")
    assert (folder / "report.html").is_file() and (folder / "art" / "compare.json").is_file()
    compared = {row["name"] for row in json.loads((folder / "art" / "compare.json").read_text())["rows"]}
    assert "blend-s0" in compared  # the model the demo trained, beside its parts and the baselines


def test_python_example_of_the_readme(tmp_path):
    """The README's Python block as written (paths under /tmp/ in a temporary folder, scale tiny)."""
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks, "the README shows the Python API"
    code = blocks[0].replace("/tmp/", f"{tmp_path}/").replace('scale="small"', 'scale="tiny"')
    code = code.replace("user_id=14", "user_id=int(__import__('numpy').load(art / 'user_ids.npy')[0])")
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 (our own README)
    assert namespace["recs"].video_ids.shape == (1, 10)
    assert {r.get("model") for r in namespace["table"]["rows"]} >= {"popularity", "linear", "mf"}
