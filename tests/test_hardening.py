"""Trying to break kuaicore as a user would: options out of range, paths that would lose data, concurrent
writers, Ctrl-C / SIGTERM / kill -9, a full disk, a damaged ART. Each case runs the CLI and asserts the
README's contract ("Errors and exit codes"): one line on stderr naming what is wrong, the documented exit
code, and nothing half-written left behind. (Bad values inside the CSVs: tests/test_value_rules.py.)"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kuaicore.cli import cli

BUILD = ["--threads", "1", "--memory-limit", "256MB"]


def run(*args: str):
    """The CLI in-process, as a user calls it; returns click's result (exit code, stdout+stderr)."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def error_line(result) -> str:
    """The one `error:` line of a failed command (click's usage errors end with an `Error:` line)."""
    lines = [ln for ln in result.output.splitlines() if ln.lower().startswith("error")]
    assert len(lines) == 1, result.output
    return lines[0]


def leftovers(folder: Path) -> list[str]:
    """Temporary names of ours anywhere under ``folder``."""
    return sorted(
        str(p.relative_to(folder)) for p in folder.rglob("*") if ".tmp-" in p.name or ".old-" in p.name
    )


@pytest.fixture()
def art(tiny_art, tmp_path) -> Path:
    """A private copy of the session's tiny ART (tests write runs into it or damage it)."""
    out = tmp_path / "art"
    shutil.copytree(tiny_art, out)
    return out


# --- options checked at the door: exit 2 before any work, the option named ---------------------------------

BAD_OPTIONS = [
    (["build-features", "{data}", "--out", "{tmp}/a", "--watch-ratio-cap", "nan"], "--watch-ratio-cap"),
    (["build-features", "{data}", "--out", "{tmp}/a", "--watch-ratio-cap", "-1"], "--watch-ratio-cap"),
    (["build-features", "{data}", "--out", "{tmp}/a", "--watch-ratio-cap", "inf"], "--watch-ratio-cap"),
    (["build-features", "{data}", "--out", "{tmp}/a", "--valid-fraction", "1"], "--valid-fraction"),
    (["build-features", "{data}", "--out", "{tmp}/a", "--valid-fraction", "nan"], "--valid-fraction"),
    (["build-features", "{data}", "--out", "{tmp}/a", "--memory-limit", "1MB"], "--memory-limit"),
    (["build-features", "{data}", "--out", "{tmp}/a", "--memory-limit", "-2GB"], "--memory-limit"),
    (["build-features", "{data}", "--out", "{tmp}/a", "--threads", "0"], "--threads"),
    (["build-features", "{data}", "--out", "{tmp}/a", "--seed", str(2**64)], "--seed"),
    (["build-features", "{data}", "--out", "{tmp}/a", "--seed", "-1"], "--seed"),
    (["validate", "{data}", "--memory-limit", "1XB"], "--memory-limit"),
    (["train", "{art}", "--weight-decay", "-1"], "--weight-decay"),
    (["train", "{art}", "--checkpoint-every", "-5"], "--checkpoint-every"),
    (["train", "{art}", "--lr", "nan"], "--lr"),
    (["train", "{art}", "--lr", "0"], "--lr"),
    (["train", "{art}", "--epochs", "0"], "--epochs"),
    (["train", "{art}", "--batch-size", "0"], "--batch-size"),
    (["train", "{art}", "--temperature", "inf"], "--temperature"),
    (["train", "{art}", "--seed", str(2**64)], "--seed"),
    (["evaluate", "{art}", "--threshold", "nan"], "--threshold"),
    (["evaluate", "{art}", "--threshold", "-1"], "--threshold"),
    (["evaluate", "{art}", "--seed", "-3"], "--seed"),
    (["evaluate", "{art}", "--json", "/no/such/dir/x.json"], "--json"),
    (["evaluate", "{art}", "--json", "{tmp}"], "--json"),
    (["recommend", "{art}", "--all", "--out", "{tmp}"], "--out"),
    (["recommend", "{art}", "--user", "1", "-k", "0"], "-k"),
    (["compare", "{art}", "--seed", str(2**40)], "--seed"),
    (["demo", "{tmp}/d", "--seed", str(2**64)], "--seed"),
    (["train", "{art}", "--run", "../../x"], "--run"),
    (["train", "{art}", "--run", "latest"], "--run"),
    (["train", "{art}", "--run", "a/b"], "--run"),
    (["train", "{art}", "--run", ".hidden"], "--run"),
    (["train", "{art}", "--run", "x.tmp-123"], "--run"),
    (["evaluate", "{art}", "--run", "../runs"], "--run"),
    (["recommend", "{art}", "--run", "a b", "--user", "1"], "--run"),
]


@pytest.mark.parametrize(
    ("argv", "option"), BAD_OPTIONS, ids=[" ".join(a[0:1] + a[-2:]) for a, _ in BAD_OPTIONS]
)
def test_a_bad_option_exits_2_naming_it_before_any_work(argv, option, tiny_data, art, tmp_path):
    before = sorted(p.name for p in tmp_path.iterdir())
    args = [a.format(data=tiny_data, art=art, tmp=tmp_path) for a in argv]
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert option in error_line(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing made
    assert not (art / "runs").exists()


def test_a_file_where_a_folder_belongs_is_one_line(tmp_path):
    (tmp_path / "afile").write_text("x")
    for argv in (["synth", tmp_path / "afile"], ["demo", tmp_path / "afile", "--scale", "tiny"]):
        result = run(*argv)
        assert result.exit_code == 2 and "afile: is a file; give a folder" in error_line(result)


def test_help_shows_the_valid_ranges():
    text = run("train", "--help").output
    assert "x>0" in text and "0<=x<=4294967295" in text  # --lr, --seed
    assert "0<=x<1" in run("build-features", "--help").output  # --valid-fraction


# --- nothing is lost ---------------------------------------------------------------------------------------


def test_force_never_replaces_the_input_data_or_a_folder_that_is_not_an_art(tiny_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    before = sorted(p.name for p in (data / "data").iterdir())
    for out in (data, data / "data"):
        result = run("build-features", data, "--out", out, "--force", *BUILD)
        assert result.exit_code == 2 and "holds the input data" in error_line(result)
    assert sorted(p.name for p in (data / "data").iterdir()) == before
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    result = run("build-features", data, "--out", mine, "--force", *BUILD)
    assert result.exit_code == 2 and "not a kuaicore ART" in error_line(result)
    assert (mine / "thesis.tex").read_text() == "precious"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run("build-features", data, "--out", empty, "--force", *BUILD).exit_code == 0


def test_a_path_with_glob_characters_is_read_literally(tiny_data, tmp_path):
    """DuckDB expands `*`/`?` in read_csv paths: a folder `a?c` must not also read its neighbour `abc`."""
    shutil.copytree(tiny_data, tmp_path / "a?c")
    neighbour = tmp_path / "abc" / "data"
    shutil.copytree(tiny_data / "data", neighbour)
    big = neighbour / "big_matrix.csv"
    big.write_bytes(big.read_bytes() + big.read_bytes().split(b"\n", 1)[1])  # twice the rows
    outs = {}
    for name in ("a?c", "x y 'é' [1]"):
        src = tmp_path / name
        if not src.exists():
            shutil.copytree(tiny_data, src)
        result = run("build-features", src, "--out", tmp_path / f"art-{len(outs)}", *BUILD)
        assert result.exit_code == 0, result.output
        outs[name] = json.loads((tmp_path / f"art-{len(outs)}" / "manifest.json").read_text())["row_counts"]
    reference = run("build-features", tiny_data, "--out", tmp_path / "ref", *BUILD)
    assert reference.exit_code == 0
    ref = json.loads((tmp_path / "ref" / "manifest.json").read_text())["row_counts"]
    assert outs["a?c"] == ref and outs["x y 'é' [1]"] == ref


def test_a_second_writer_of_the_same_art_or_run_exits_2_at_once(tiny_data, art, tmp_path):
    from kuaicore.atomic import exclusive_lock

    out = tmp_path / "new-art"
    with exclusive_lock(tmp_path / ".new-art.lock", out, "build-features"):
        result = run("build-features", tiny_data, "--out", out, *BUILD)
    assert result.exit_code == 2 and "another kuaicore build-features" in error_line(result)
    assert f"pid {os.getpid()}" in error_line(result)
    assert not out.exists()
    (art / "runs").mkdir()
    with exclusive_lock(art / "runs" / ".pop.lock", art / "runs" / "pop", "train"):
        result = run("train", art, "--model", "popularity", "--run", "pop")
    assert result.exit_code == 2 and "another kuaicore train" in error_line(result)
    assert run("train", art, "--model", "popularity", "--run", "pop").exit_code == 0  # free again
    assert sorted(p.name for p in (art / "runs").iterdir()) == ["latest", "pop"]
    twin = tmp_path / "twin"
    with exclusive_lock(twin / ".data.lock", twin / "data", "synth"):
        result = run("synth", twin, "--scale", "tiny")
    assert result.exit_code == 2 and "another kuaicore synth" in error_line(result)
    assert sorted(p.name for p in twin.iterdir()) == []


def test_a_killed_synths_folder_is_removed_by_the_next_synth(tmp_path):
    dead = _dead_pid()
    twin = tmp_path / "twin"
    (twin / f"data.tmp-{dead}-0a1b2c3d").mkdir(parents=True)
    (twin / f"data.tmp-{dead}-0a1b2c3d" / "big_matrix.csv").write_bytes(b"user_id,video_id\n1,")
    (twin / f"data.tmp-{os.getppid()}-0a1b2c3d").mkdir()  # a running synth's: reported, kept
    result = run("synth", twin, "--scale", "tiny")
    assert result.exit_code == 0, result.output
    assert f"left by an interrupted kuaicore run (pid {dead})" in result.output
    assert sorted(p.name for p in twin.iterdir()) == ["data", f"data.tmp-{os.getppid()}-0a1b2c3d"]


def test_leftovers_of_killed_runs_are_removed_by_the_next_run(tiny_data, art, tmp_path):
    dead = _dead_pid()
    out = tmp_path / "art2"
    (tmp_path / f"art2.tmp-{dead}-abcd").mkdir()
    (tmp_path / f"art2.tmp-{dead}-abcd" / "train.parquet").write_bytes(b"half")
    (tmp_path / f"other.tmp-{dead}-abcd").mkdir()  # not ours to judge: another target's
    runs = art / "runs"
    (runs / "pop").mkdir(parents=True)
    (runs / f"pop.tmp-{dead}").mkdir()
    (runs / "pop" / f".ckpt.npz.tmp-{dead}").write_bytes(b"half")
    (runs / f"pop.tmp-{os.getppid()}").mkdir()  # a live process's: reported, kept
    assert run("build-features", tiny_data, "--out", out, *BUILD).exit_code == 0
    result = run("train", art, "--model", "popularity", "--run", "pop")
    assert result.exit_code == 0, result.output
    assert "belongs to running process" in result.output
    assert sorted(p.name for p in tmp_path.iterdir() if "tmp" in p.name) == [f"other.tmp-{dead}-abcd"]
    assert leftovers(runs) == [f"pop.tmp-{os.getppid()}"]


def test_scratch_that_killed_validations_left_in_the_temp_folder_is_removed(tiny_data, tmp_path, monkeypatch):
    dead = _dead_pid()
    system_tmp = tmp_path / "sys-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    stale = system_tmp / f"kuaicore-validate.tmp-{dead}-k2x_9q"
    (stale / "spill").mkdir(parents=True)
    (stale / "spill" / "duckdb_temp_block-1.block").write_bytes(b"x" * 4096)
    live = system_tmp / f"kuaicore-validate.tmp-{os.getppid()}-abc123"  # a running validation's: kept
    live.mkdir()
    other_kind = system_tmp / f"kuaicore-readers.tmp-{dead}-abc123"  # not this kind's to judge
    other_kind.mkdir()
    old_style = system_tmp / "kuaicore-validate-abc123"  # a name without a pid: never touched
    old_style.mkdir()
    result = run("validate", tiny_data)
    assert result.exit_code == 0, result.output
    assert f"removed {stale}: left by an interrupted kuaicore run (pid {dead})" in result.output
    assert "belongs to running process" in result.output
    assert sorted(p.name for p in system_tmp.iterdir()) == sorted(
        p.name for p in (live, other_kind, old_style)
    )


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# --- integrity of ART and runs -----------------------------------------------------------------------------


def test_a_truncated_or_changed_art_file_is_refused_by_every_reader(art):
    path = art / "train.parquet"
    path.write_bytes(path.read_bytes()[:-10])
    for argv in (
        ["train", art, "--model", "popularity"],
        ["train", art, "--model", "linear"],
        ["validate", art],
    ):
        result = run(*argv)
        assert result.exit_code == 2 and "train.parquet" in error_line(result), argv
        assert "truncated" in error_line(result)


def test_validate_art_checks_every_checksum(art):
    result = run("validate", art)
    assert result.exit_code == 0 and "every file matches manifest.json" in result.output
    path = art / "item_ids.npy"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # same size, other bytes: only the checksum sees it
    path.write_bytes(bytes(data))
    assert run("train", art, "--model", "popularity").exit_code == 0  # the cheap size check passes
    result = run("validate", art)
    assert result.exit_code == 2 and "item_ids.npy: checksum differs" in error_line(result)


def test_non_finite_arrays_are_refused_by_train_evaluate_and_recommend(art):
    assert run("train", art, "--model", "popularity", "--run", "pop").exit_code == 0
    emb = art / "runs" / "pop" / "item_emb.npy"
    values = np.load(emb)
    values[0, 0] = np.nan
    np.save(emb, values)
    for argv in (
        ["evaluate", art, "--run", "pop", "--bootstrap", "0"],
        ["recommend", art, "--run", "pop", "--user", "0"],
    ):
        result = run(*argv)
        assert result.exit_code == 2 and "item_emb.npy" in error_line(result) and "NaN" in error_line(result)
    features = art / "item_features.npy"
    values = np.load(features)
    values[1, 1] = np.inf
    np.save(features, values)  # same size: the size check passes, the value check does not
    result = run("train", art, "--model", "linear", "--run", "lin")
    assert result.exit_code == 2 and "item_features.npy" in error_line(result)


def test_a_diverging_model_writes_no_run(tmp_path):
    from kuaicore.errors import ArtifactError
    from kuaicore.runs import write_run

    with pytest.raises(ArtifactError, match="holds NaN or inf"):
        write_run(tmp_path / "runs" / "x", {"user_emb": np.array([[np.nan]], np.float32)}, {}, [])
    assert not leftovers(tmp_path) and not (tmp_path / "runs" / "x").exists()


# --- a full disk: one line naming the path and the space needed, exit 2, nothing left ----------------------


@pytest.fixture()
def small_disk():
    """A 256 KB tmpfs (root only; CI runs as root): too small for the tiny data's build, whose up-front space
    check the test answers itself. Mounted outside pytest's temporary folders, so that a test session killed
    before the unmount leaves no busy mount point in a folder pytest later cleans up."""
    mount = Path(tempfile.mkdtemp(prefix="kuaicore-test-disk-"))
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        mount.rmdir()
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)
        shutil.rmtree(mount, ignore_errors=True)


def test_a_full_disk_is_one_line_naming_path_and_space(tiny_data, small_disk, monkeypatch):
    """The disk fills up during the build (the up-front check is told there is room: the build's peak, with
    the scratch database removed while the files are hashed, fits in less than the check asks for)."""
    from kuaicore.features import build

    monkeypatch.setattr(build, "free_bytes", lambda path: 1 << 40)
    result = run("build-features", tiny_data, "--out", small_disk / "art", *BUILD)
    assert result.exit_code == 2, result.output
    line = error_line(result)
    assert str(small_disk) in line and "no space left on device" in line and "needs about" in line
    assert list(small_disk.iterdir()) == []


def test_a_short_npy_write_is_a_full_disk(tmp_path, monkeypatch):
    """NumPy reports a write cut short by a full disk without an errno; save_npy names it ENOSPC, so the
    build's full-disk path (one line, exit 2) catches it wherever the disk fills up."""
    import errno

    from kuaicore.failures import is_disk_full
    from kuaicore.features import artifacts

    def short_write(*args, **kwargs):
        raise OSError("9060 requested and 3040 written")

    monkeypatch.setattr(artifacts.np, "save", short_write)
    with pytest.raises(OSError) as caught:
        artifacts.save_npy(tmp_path, "x.npy", np.zeros(3, dtype=np.int32))
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(tmp_path / "x.npy")
    assert is_disk_full(caught.value)


def test_too_little_space_is_refused_before_any_work(tiny_data, tmp_path, monkeypatch):
    from kuaicore.features import build

    monkeypatch.setattr(build, "free_bytes", lambda path: 1000)
    result = run("build-features", tiny_data, "--out", tmp_path / "art", *BUILD)
    from kuaicore.failures import human_bytes

    csv_bytes = sum(p.stat().st_size for p in (tiny_data / "data").glob("*.csv"))
    need = human_bytes(int(build.DISK_PER_INPUT_BYTE * csv_bytes))
    assert result.exit_code == 2 and f"(1.0 KB free; this step needs about {need})" in error_line(result)
    assert not (tmp_path / "art").exists()


# --- Ctrl-C, SIGTERM and kill -9, in a real process --------------------------------------------------------


def _start(argv: list[str], wait_for: str, cwd: Path, **env_vars: str) -> subprocess.Popen:
    """Start the CLI and return once its stderr shows ``wait_for`` (the work is under way).

    Ctrl-C reaches the child as in a terminal: a test run started in the background of a non-interactive
    shell inherits SIGINT ignored (and Python then never raises KeyboardInterrupt), so SIGINT is handled here
    while the child starts, and a handled signal is reset to the default at exec (no ``preexec_fn``: a fork
    after JAX has started its threads warns)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", **env_vars)
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "kuaicore.cli", *argv], cwd=cwd, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, inherited)
    deadline = time.monotonic() + 120
    for line in proc.stderr:
        if wait_for in line or time.monotonic() > deadline:
            break
    return proc


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGKILL, -9)])
def test_an_interrupted_build_leaves_nothing_and_the_next_build_works(
    sig, code, tiny_data, tmp_path, monkeypatch
):
    out = tmp_path / "art"
    system_tmp = tmp_path.parent / f"{tmp_path.name}-sys-tmp"  # the child's temp folder: validate's scratch
    system_tmp.mkdir()
    argv = ["build-features", str(tiny_data), "--out", str(out), *BUILD, "--validate"]
    proc = _start(argv, "read ", tmp_path, TMPDIR=str(system_tmp))
    proc.send_signal(sig)
    rest = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(60) == code, rest
    if code > 0:
        last = rest.strip().splitlines()[-1]
        assert last.startswith("error: ") and ("interrupted" in last or "terminated" in last)
        assert sorted(p.name for p in tmp_path.iterdir()) == []
        assert sorted(p.name for p in system_tmp.iterdir()) == []
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    result = run("build-features", tiny_data, "--out", out, *BUILD, "--validate")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art"]
    assert sorted(p.name for p in system_tmp.iterdir()) == []  # what kill -9 left is gone too


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGKILL, -9)])
def test_an_interrupted_training_leaves_no_temporary_files(sig, code, art):
    argv = [
        "train",
        str(art),
        "--model",
        "two-tower",
        "--epochs",
        "50",
        "--checkpoint-every",
        "1",
        "--batch-size",
        "64",
        "--run",
        "tt",
    ]
    proc = _start(argv, "epoch 1:", art)
    proc.send_signal(sig)
    rest = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(60) == code, rest
    if code > 0:
        assert "error: interrupted" in rest.strip().splitlines()[-1]
        assert not leftovers(art)
    else:  # kill -9 runs no cleanup: the next run on the same name removes what is left
        result = run("train", art, "--model", "popularity", "--run", "tt")
        assert result.exit_code == 0, result.output
        assert not leftovers(art)
