"""`kuaicore validate`: real files, layouts, JSON, warnings; every bad input -> exit 2 naming file and row."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kuaicore.cli import cli
from kuaicore.data.validate import validate_dataset
from kuaicore.errors import DataError
from kuaicore.schema import USER_FEATURES

TINY = Path(__file__).parent / "fixtures" / "kuairec_tiny"
REAL_NAMES = (
    "item_categories.csv",
    "user_features.csv",
    "social_network.csv",
    "kuairec_caption_category.csv",
)


def run(*args: str):
    """Invoke the CLI; stdout and stderr are kept apart (click >= 8.2)."""
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """A writable copy of the hand-written tiny folder."""
    dst = tmp_path / "data"
    shutil.copytree(TINY, dst)
    return dst


def one_line_error(result, *needles: str) -> str:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ")
    for needle in needles:
        assert needle in lines[-1], (needle, lines[-1])
    assert result.stdout == ""
    return lines[-1]


# ---- good input ----


def test_tiny_summary_hand_checked(tiny):
    report = validate_dataset(tiny).as_dict()
    files = {f["file"]: f for f in report["files"]}
    big, small = files["big_matrix.csv"], files["small_matrix.csv"]
    assert (big["rows"], big["users"], big["videos"], big["duplicate_rows"], big["rows_with_empty_time"]) == (
        6, 2, 4, 1, 0,
    )  # fmt: skip
    assert big["watch_ratio"] == {"min": 0.0, "median": (0.10761254425897825 + 1.2733965215790926) / 2,
                                  "max": 2.212061894108874}  # fmt: skip
    assert (small["rows"], small["users"], small["videos"], small["duplicate_rows"]) == (4, 2, 2, 0)
    assert small["rows_with_empty_time"] == 1
    assert small["watch_ratio"]["min"] == 0.05 and small["watch_ratio"]["max"] == 1.907377049180328
    assert files["item_categories.csv"]["rows"] == 6 and files["social_network.csv"]["rows"] == 2
    assert report["small_big_overlap_pairs"] == 0
    absent = {f["file"] for f in report["files"] if not f["present"]}
    assert absent == {"user_features.csv", "kuairec_caption_category.csv", "item_daily_features.csv"}
    assert len(report["warnings"]) == 3 and all("optional file" in w for w in report["warnings"])


def test_table_output_and_warnings_on_stderr(tiny):
    result = run("validate", str(tiny))
    assert result.exit_code == 0, result.stderr
    table = result.stdout.splitlines()
    assert table[0] == f"KuaiRec data: {tiny}"
    assert table[1].split()[:3] == ["file", "rows", "users"]
    big = next(line for line in table if line.startswith("big_matrix.csv"))
    assert big.split()[:6] == ["big_matrix.csv", "6", "2", "4", "1", "0"]
    assert "warning: optional file user_features.csv not found" in result.stderr
    assert table[-1] == "ok"


def test_json_is_stdout_only_and_parses(tiny):
    result = run("validate", str(tiny), "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["data_dir"] == str(tiny)
    assert [f["file"] for f in report["files"]][:3] == [
        "big_matrix.csv",
        "small_matrix.csv",
        "item_categories.csv",
    ]
    assert any("item_daily_features.csv" in w for w in report["warnings"])
    assert "warning:" in result.stderr  # logs go to stderr, never into the JSON


@pytest.mark.parametrize("layout", ["data", "kuairec", "parent", "parent_data"])
def test_accepted_layouts(tmp_path, layout):
    root = tmp_path / "KuaiRec 2.0"
    shutil.copytree(TINY, root / "data")
    arg = {
        "data": root / "data",  # KuaiRec 2.0/data/
        "kuairec": root,  # KuaiRec 2.0/ (also what `kuaicore synth OUT` writes: OUT/data/)
        "parent": tmp_path,  # a parent holding KuaiRec 2.0/
        "parent_data": tmp_path,
    }[layout]
    if layout == "parent_data":  # a parent holding a flat KuaiRec 2.0/ with the CSVs inside
        shutil.move(root / "data", tmp_path / "flat")
        shutil.rmtree(root)
        (tmp_path / "flat").rename(root)
    result = run("validate", str(arg), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["files"][0]["rows"] == 6


def test_not_a_kuairec_folder(tmp_path):
    one_line_error(run("validate", str(tmp_path)), "no KuaiRec CSV files", str(tmp_path))
    one_line_error(run("validate", str(tmp_path / "nope")), "does not exist")
    (tmp_path / "big_matrix.csv").write_text("x\n")
    one_line_error(run("validate", str(tmp_path / "big_matrix.csv")), "is not a folder")


def test_data_itself_wins_over_its_data_subfolder(tmp_path):
    shutil.copytree(TINY, tmp_path / "data")
    shutil.copy(TINY / "item_categories.csv", tmp_path / "item_categories.csv")
    # DATA itself holds a KuaiRec file, so DATA (which lacks big_matrix.csv) is the folder validated
    one_line_error(run("validate", str(tmp_path)), f"required file big_matrix.csv not found in {tmp_path}")


@pytest.mark.real_data
def test_real_files_with_rebuilt_heads(shared_kuairec, tmp_path):
    """The real item/user/social/caption files plus the heads rebuilt from docs under their real names."""
    data = tmp_path / "KuaiRec 2.0" / "data"
    data.mkdir(parents=True)
    for name in REAL_NAMES:
        (data / name).symlink_to(shared_kuairec / name)
    (data / "big_matrix.csv").symlink_to(shared_kuairec / "big_matrix_head10_from_docs.csv")
    (data / "small_matrix.csv").symlink_to(shared_kuairec / "small_matrix_head2_from_docs.csv")
    (data / "item_daily_features.csv").symlink_to(shared_kuairec / "item_daily_features_head2_from_docs.csv")
    result = run("validate", str(data.parent), "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    rows = {f["file"]: f["rows"] for f in report["files"]}
    assert rows == {
        "big_matrix.csv": 10,
        "small_matrix.csv": 2,
        "item_categories.csv": 10_728,
        "user_features.csv": 7_176,
        "social_network.csv": 472,
        "kuairec_caption_category.csv": 10_728,  # not 10,732: the bare CRs stay inside their captions
        "item_daily_features.csv": 2,
    }
    ids = {f["file"]: f.get("distinct_ids") for f in report["files"]}
    assert ids["kuairec_caption_category.csv"] == 10_728 and ids["user_features.csv"] == 7_176
    assert report["small_big_overlap_pairs"] == 0  # head10 big is user 0, head2 small is user 14
    assert report["warnings"] == []
    big = report["files"][0]
    assert (big["users"], big["videos"], big["duplicate_rows"]) == (1, 10, 0)
    assert big["watch_ratio"]["min"] == 0.078 and big["watch_ratio"]["max"] == 2.212061894108874


# ---- bad input: exit 2, one line naming the file (and row) ----


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("name", ["big_matrix.csv", "small_matrix.csv", "item_categories.csv"])
def test_missing_required_file(tiny, name):
    (tiny / name).unlink()
    line = one_line_error(run("validate", str(tiny)), name, "required file", "not found", str(tiny))
    assert line == f"error: kuaicore validate: required file {name} not found in {tiny}"


def test_reordered_header(tiny):
    _edit(tiny / "small_matrix.csv", "user_id,video_id,", "video_id,user_id,")
    one_line_error(
        run("validate", str(tiny)), "small_matrix.csv, line 1:", "wrong order", "column 1 is 'video_id'"
    )


def test_wrong_header(tiny):
    _edit(tiny / "big_matrix.csv", ",watch_ratio\n", ",ratio\n")
    one_line_error(run("validate", str(tiny)), "big_matrix.csv, line 1:", "differs", "expected 'watch_ratio'")


def test_a_bare_cr_in_a_text_field_is_read_from_the_repaired_copy(tiny):
    """validate reads in place first; a bare CR inside big_matrix's time text fails that read, and the
    repaired copy (the field quoted) is read instead: the same summary as without the CR."""
    clean = validate_dataset(tiny).as_dict()
    path = tiny / "big_matrix.csv"
    lines = path.read_bytes().split(b"\n")
    row = next(i for i in range(1, len(lines)) if lines[i] and lines.count(lines[i]) == 1)  # no duplicate
    fields = lines[row].split(b",")
    fields[4] = fields[4][:10] + b"\r" + fields[4][10:]
    lines[row] = b",".join(fields)
    path.write_bytes(b"\n".join(lines))
    assert validate_dataset(tiny).as_dict()["files"] == clean["files"]


def test_crlf_line_ends(tiny):
    path = tiny / "item_categories.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    one_line_error(run("validate", str(tiny)), "item_categories.csv, line 1: lines end with CRLF")


def test_old_mac_line_ends_give_a_short_message(tiny):
    path = tiny / "big_matrix.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r") * 50)  # one 'line' of ~25 KB
    line = one_line_error(run("validate", str(tiny)), "big_matrix.csv, line 1: header differs")
    assert len(line) < 800


def test_missing_header_column(tiny):
    _edit(tiny / "item_categories.csv", "video_id,feat\n", "video_id\n")
    one_line_error(run("validate", str(tiny)), "item_categories.csv, line 1:", "'(end of line)'")


def test_non_numeric_id(tiny):
    _edit(tiny / "big_matrix.csv", "\n0,2,0,", "\n0,abc,0,")  # the 4th data row
    line = one_line_error(run("validate", str(tiny)))
    assert line == "error: big_matrix.csv, row 4 (line 5): video_id 'abc' is not an integer"


def test_id_beyond_32_bits(tiny):
    # interaction ids and durations are read as 32-bit INTEGER (every real value fits); a larger one is
    # named as out of range, not as "not an integer"
    _edit(tiny / "big_matrix.csv", "\n0,2,0,", "\n0,4294967296,0,")
    line = one_line_error(run("validate", str(tiny)))
    assert line == (
        "error: big_matrix.csv, row 4 (line 5): video_id '4294967296' is outside the 32-bit integer range"
        " it is read as"
    )


def test_non_numeric_watch_ratio(tiny):
    _edit(tiny / "small_matrix.csv", ",0.05\n", ",n/a\n")
    one_line_error(
        run("validate", str(tiny)), "small_matrix.csv, row 4 (line 5): watch_ratio 'n/a' is not a number"
    )


def _user_features_row(user_id: int, fans: str = "0") -> str:
    values = [
        str(user_id),
        "high_active",
        "0",
        "0",
        "0",
        "5",
        '"(0,10]"',
        fans,
        "0",
        "0",
        "0",
        "107",
        "61-90",
    ]
    return ",".join(values + ["1"] * 4 + [""] + ["1"] * 13)


def test_bad_value_in_a_later_column_of_an_optional_file(tiny):
    """Every column is type-checked, not only those a count needs (DuckDB skips unused columns)."""
    rows = [_user_features_row(0), _user_features_row(1, fans="many"), _user_features_row(2)]
    (tiny / "user_features.csv").write_text("\n".join([USER_FEATURES.header, *rows]) + "\n")
    one_line_error(
        run("validate", str(tiny)),
        "user_features.csv, row 2 (line 3): fans_user_num 'many' is not an integer",
    )
    (tiny / "user_features.csv").write_text(USER_FEATURES.header + "\n" + _user_features_row(0) + "\n")
    assert run("validate", str(tiny)).exit_code == 0


def test_empty_id(tiny):
    _edit(tiny / "item_categories.csv", "\n2,[11]", "\n,[11]")
    one_line_error(run("validate", str(tiny)), "item_categories.csv, row 3 (line 4): video_id is empty")


def test_truncated_last_line_mid_field(tiny):
    path = tiny / "big_matrix.csv"
    path.write_bytes(path.read_bytes()[:-8])  # cut inside the last watch_ratio, no line end
    # checked before any scan, as build-features checks it, so both say the same
    one_line_error(run("validate", str(tiny)), "big_matrix.csv, last line:", "truncated")


def test_truncated_last_line_missing_fields(tiny):
    path = tiny / "small_matrix.csv"
    path.write_bytes(path.read_bytes()[:-12])  # ",,,,0.05\n" and more gone: too few fields
    one_line_error(run("validate", str(tiny)), "small_matrix.csv, last line:", "truncated")
    path.write_bytes(path.read_bytes() + b"\n")  # the same short line, ended
    one_line_error(run("validate", str(tiny)), "small_matrix.csv, row 4 (line 5): expected 8 fields, found")


BIG_HEADER = b"user_id,video_id,play_duration,video_duration,time,date,timestamp,watch_ratio\n"


@pytest.mark.parametrize("content", [b"", BIG_HEADER])
def test_empty_file(tiny, content):
    (tiny / "big_matrix.csv").write_bytes(content)
    one_line_error(run("validate", str(tiny)), "big_matrix.csv", "empty")


def test_empty_optional_file_is_an_error_too(tiny):
    (tiny / "social_network.csv").write_bytes(b"")
    one_line_error(run("validate", str(tiny)), "social_network.csv", "empty")


def test_not_utf8(tiny):
    (tiny / "item_categories.csv").write_bytes(b"video_id,feat\n0,[8]\n1,[9]\xe4\xb8\n")
    one_line_error(run("validate", str(tiny)), "item_categories.csv, row 2 (line 3): text is not UTF-8")


def test_malformed_list_cell(tiny):
    _edit(tiny / "item_categories.csv", "\n3,", "\n3,[5; 6]\n9,")
    one_line_error(
        run("validate", str(tiny)), "item_categories.csv, row 4 (line 5): feat '[5; 6]' is not a list"
    )


def test_small_big_overlap(tiny):
    with open(tiny / "small_matrix.csv", "a") as fh:
        fh.write("1,3,100,200,2020-07-06 10:00:01,20200706.0,1593914401.0,0.5\n")  # (1, 3) is big row 6
        fh.write("0,0,100,200,2020-07-06 10:00:02,20200706.0,1593914402.0,0.5\n")  # (0, 0) is big row 1
    # a counted, dropped row (kuaicore.data.value_rules), as build-features drops it: a warning, not an error
    result = run("validate", str(tiny), "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["small_big_overlap_pairs"] == 2
    assert report["warnings"][-1:] == [
        "small_matrix.csv, row 6 (line 7): pair (user_id=0, video_id=0) is also in big_matrix.csv (row 1) "
        "(2 pairs shared; the real files share none); build-features drops those big_matrix rows and "
        "counts them"
    ]


def test_errors_are_data_errors(tiny):
    (tiny / "big_matrix.csv").unlink()
    with pytest.raises(DataError, match="required file big_matrix.csv"):
        validate_dataset(tiny)


# ---- synthetic data (kuaicore synth) ----


@pytest.fixture(scope="module")
def synth_tiny(tmp_path_factory) -> Path:
    """`kuaicore synth OUT --scale tiny` output."""
    out = tmp_path_factory.mktemp("synth") / "out"
    result = run("synth", str(out), "--scale", "tiny", "--seed", "3")
    assert result.exit_code == 0, result.stderr
    return out


def test_synth_tiny_passes_validate(synth_tiny):
    result = run("validate", str(synth_tiny), "--json")  # OUT, holding OUT/data/
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["warnings"] == [] and report["small_big_overlap_pairs"] == 0
    for summary in report["files"]:
        path = synth_tiny / "data" / summary["file"]
        assert summary["present"] and summary["rows"] == path.read_bytes().count(b"\n") - 1


@pytest.mark.real_data
def test_real_files_with_synthetic_matrices_pass(shared_kuairec, synth_tiny, tmp_path):
    data = tmp_path / "KuaiRec 2.0" / "data"
    data.mkdir(parents=True)
    for name in REAL_NAMES:
        (data / name).symlink_to(shared_kuairec / name)
    for name in ("big_matrix.csv", "small_matrix.csv"):
        (data / name).symlink_to(synth_tiny / "data" / name)
    result = run("validate", str(tmp_path), "--json")  # a parent holding KuaiRec 2.0/
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["warnings"] == ["optional file item_daily_features.csv not found in "
                                  f"{data}; features from it are skipped"]  # fmt: skip
    rows = {f["file"]: f.get("rows") for f in report["files"]}
    assert rows["kuairec_caption_category.csv"] == 10_728 and rows["big_matrix.csv"] > 0
