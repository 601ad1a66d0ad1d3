"""One rule for values (kuaicore.data.value_rules), run as a user runs the CLI: each corrupted tiny dataset is
refused by `kuaicore validate` and by `kuaicore build-features` (without --validate) with exit 2 and the same
one-line message naming file, row and column, and the build leaves no ART and no ART.tmp-*; the quirks a
real export holds are accepted by both; a random corruption never ends in a traceback."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kuaicore.cli import cli
from kuaicore.data.csv_errors import find_row
from kuaicore.data.readers import split_csv_line
from kuaicore.data.value_rules import rules_for
from kuaicore.errors import InternalError
from kuaicore.features.artifacts import save_npy
from kuaicore.schema import FILES, FILES_BY_NAME

BUILD_OPTS = ["--threads", "1", "--memory-limit", "512MB"]


def _quote(field: str) -> str:
    return '"' + field.replace('"', '""') + '"' if any(c in field for c in ',"\r') else field


def set_cell(data: Path, name: str, row: int, column: str, raw: str) -> None:
    """Write ``raw`` (unquoted text; quoted if it needs to be) into ``column`` of data row ``row`` of
    ``name``.csv; the other fields of that line are written back as they were read."""
    path = data / f"{name}.csv"
    lines = path.read_bytes().split(b"\n")
    names = [c.name for c in FILES_BY_NAME[name].columns]
    fields = split_csv_line(lines[row].decode("utf-8"))
    fields[names.index(column)] = raw
    lines[row] = ",".join(_quote(f) for f in fields).encode("utf-8")
    path.write_bytes(b"\n".join(lines))


def header_only(data: Path, name: str) -> None:
    path = data / f"{name}.csv"
    path.write_bytes(path.read_bytes().split(b"\n", 1)[0] + b"\n")


def put_bytes(data: Path, name: str, row: int, column: str, raw: bytes) -> None:
    """Put raw bytes (e.g. not UTF-8) at the start of a text cell of data row ``row``."""
    set_cell(data, name, row, column, "\x00MARK")
    path = data / f"{name}.csv"
    path.write_bytes(path.read_bytes().replace(b"\x00MARK", raw, 1))


def copy_keys(data: Path, name: str, n_keys: int) -> None:
    """Give data row 4 the key (its first ``n_keys`` fields) of row 3."""
    row3 = split_csv_line((data / f"{name}.csv").read_text(encoding="utf-8").split("\n")[3])
    for i, column in enumerate(c.name for c in FILES_BY_NAME[name].columns[:n_keys]):
        set_cell(data, name, 4, column, row3[i])


def validate(data: Path):
    return CliRunner().invoke(cli, ["validate", str(data)])


def build(data: Path, out: Path):
    return CliRunner().invoke(cli, ["build-features", str(data), "--out", str(out), *BUILD_OPTS])


def error_line(result) -> str:
    """The one error line of a failed command (exit 2, no traceback), without its ``error: `` prefix."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, (result.exit_code, result.stderr[-2000:])
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors == [lines[-1]], lines[-5:]
    assert "Traceback" not in result.stderr and result.stdout == ""
    return lines[-1].removeprefix("error: ")


def no_art_left(out: Path) -> None:
    assert not out.exists()
    assert not list(out.parent.glob(f"{out.name}.tmp-*"))


@pytest.fixture
def data(tiny_data: Path, tmp_path: Path) -> Path:
    """A writable copy of the session's `kuaicore synth --scale tiny` data folder."""
    shutil.copytree(tiny_data, tmp_path / "syn")
    return tmp_path / "syn" / "data"


# One corrupted cell of data row 4 (line 5) per case: file | column | raw text written | what both say.
# ('' is an empty cell; the message is "FILE.csv, row 4 (line 5): " + the last column.)
CELL_CASES = """
big_matrix          | watch_ratio    | nan    | watch_ratio 'nan' is not a finite number >= 0
big_matrix          | watch_ratio    | NaN    | watch_ratio 'NaN' is not a finite number >= 0
big_matrix          | watch_ratio    | inf    | watch_ratio 'inf' is not a finite number >= 0
big_matrix          | watch_ratio    | -0.5   | watch_ratio '-0.5' is not a finite number >= 0
big_matrix          | watch_ratio    | ''     | watch_ratio is empty
big_matrix          | watch_ratio    | 1.5x   | watch_ratio '1.5x' is not a number
big_matrix          | watch_ratio    | 1e39   | watch_ratio '1e39' is beyond the float32 range (3.4e38)
big_matrix          | timestamp      | nan    | timestamp 'nan' is not a finite number >= 0
big_matrix          | timestamp      | -1.0   | timestamp '-1.0' is not a finite number >= 0
big_matrix          | time           | ''     | time is empty
big_matrix          | date           | ''     | date is empty
big_matrix          | play_duration  | -5     | play_duration '-5' is negative
big_matrix          | video_duration | 0      | video_duration '0' is not > 0
big_matrix          | user_id        | -3     | user_id '-3' is negative
big_matrix          | video_id       | -1     | video_id '-1' is negative
big_matrix          | video_id       | abc    | video_id 'abc' is not an integer
small_matrix        | watch_ratio    | -inf   | watch_ratio '-inf' is not a finite number >= 0
small_matrix        | timestamp      | inf    | timestamp 'inf' is not a finite number >= 0
small_matrix        | watch_ratio    | 9e307  | watch_ratio '9e307' is beyond the float32 range (3.4e38)
small_matrix        | date           | nan    | date 'nan' is not a finite number
small_matrix        | video_duration | -1     | video_duration '-1' is not > 0
small_matrix        | play_duration  | -9     | play_duration '-9' is negative
small_matrix        | play_duration  | ''     | play_duration is empty
small_matrix        | user_id        | -1     | user_id '-1' is negative
small_matrix        | video_id       | -7     | video_id '-7' is negative
item_categories     | feat           | [1, 2  | feat '[1, 2' is not a list like [1, 2]
item_categories     | feat           | [1.5]  | feat '[1.5]' is not a list like [1, 2]
item_categories     | feat           | [3, 31]| feat '[3, 31]' holds a tag id outside 0..30
item_categories     | feat           | [-1]   | feat '[-1]' holds a tag id outside 0..30
item_categories | feat | [99999999999999999999] | feat '[99999999999999999999]' holds a tag id outside 0..30
item_categories     | feat           | ''     | feat is empty
item_categories     | video_id       | -2     | video_id '-2' is negative
social_network      | friend_list    | [1, x] | friend_list '[1, x]' is not a list like [1, 2]
social_network | friend_list | [-5] | friend_list '[-5]' holds a user id that is negative or beyond 64 bits
social_network      | friend_list    | ''     | friend_list is empty
social_network      | user_id        | -4     | user_id '-4' is negative
user_features       | user_active_degree | '' | user_active_degree is empty
user_features       | user_id        | -1     | user_id '-1' is negative
item_daily_features | video_duration | inf    | video_duration 'inf' is not a finite number
item_daily_features | play_progress  | nan    | play_progress 'nan' is not a finite number
item_daily_features | video_duration | -5e38  | video_duration '-5e38' is beyond the float32 range (3.4e38)
item_daily_features | collect_cnt    | 2e9    | collect_cnt '2e9' is outside 0..1e9
item_daily_features | play_progress  | -0.1   | play_progress '-0.1' is outside 0..1e5
item_daily_features | collect_cnt    | inf    | collect_cnt 'inf' is not a finite number
item_daily_features | video_id       | -1     | video_id '-1' is negative
kuairec_caption_category | topic_tag | abc    | topic_tag 'abc' is not a list like [a,b]
kuairec_caption_category | video_id  | -1     | video_id '-1' is negative
kuairec_caption_category | first_level_category_name | '' | first_level_category_name is empty
big_matrix          | date           | 2020x  | date '2020x' is not an integer
user_features       | follow_user_num | 12a   | follow_user_num '12a' is not an integer
item_daily_features | show_cnt       | many   | show_cnt 'many' is not an integer
kuairec_caption_category | third_level_category_id | x | third_level_category_id 'x' is not an integer
"""


def _cell_case(line: str) -> tuple[str, Callable[[Path], None], str]:
    name, column, raw, what = (part.strip() for part in line.split("|"))
    raw = "" if raw == "''" else raw
    return (
        f"{name}-{column}-{raw or 'empty'}",
        lambda d: set_cell(d, name, 4, column, raw),
        f"{name}.csv, row 4 (line 5): {what}",
    )


CAPTION = "kuairec_caption_category"
CASES: list[tuple[str, Callable[[Path], None], str]] = [
    *(_cell_case(line) for line in CELL_CASES.strip().splitlines()),
    (
        "not-utf8",
        lambda d: put_bytes(d, CAPTION, 4, "caption", b"\xff\xfe"),
        f"{CAPTION}.csv, row 4 (line 5): text is not UTF-8",
    ),
    (
        "not-utf8-with-bare-cr",  # the line goes through readers.repair_bare_cr
        lambda d: put_bytes(d, CAPTION, 4, "caption", b"\xff\rx"),
        f"{CAPTION}.csv, row 4 (line 5): text is not UTF-8",
    ),
    (
        "user-twice",
        lambda d: copy_keys(d, "user_features", 1),
        "user_features.csv, row 4 (line 5): user_id=2 is also on row 3; the file holds one row per user_id",
    ),
    (
        "video-day-twice",
        lambda d: copy_keys(d, "item_daily_features", 2),
        "item_daily_features.csv, row 4 (line 5): video_id=0, date=20200729 is also on row 3; "
        "the file holds one row per video_id and date",
    ),
    *(
        (
            f"header-only-{f.name}",
            lambda d, n=f.name: header_only(d, n),
            f"{f.filename}: file is empty (a header and no data rows)",
        )
        for f in FILES
    ),
]


@pytest.mark.parametrize(("corrupt", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_validate_and_build_refuse_with_the_same_line(data, tmp_path, corrupt, message):
    corrupt(data)
    assert error_line(validate(data)) == message
    out = tmp_path / "art"
    assert error_line(build(data, out)) == message
    no_art_left(out)


def test_every_kind_of_rule_of_every_file_has_a_case():
    """Each (file, what is wrong) of the module is exercised by a case above, through one of its columns."""
    messages = [c[2] for c in CASES]
    kinds = {(f.filename, r.what) for f in FILES for r in rules_for(f)}
    untested = {(name, what) for name, what in kinds if not any(m.startswith(f"{name}, ") and m.endswith(what)
                                                               for m in messages)}  # fmt: skip
    assert untested == set()


def test_quirks_of_a_real_export_are_kept_by_both(data, tmp_path):
    """Empty time/date/timestamp together in small_matrix, empty optional cells, an exact duplicate and a
    big row whose pair is in small_matrix: both commands accept them; the build drops and counts the last
    two, validate counts and warns."""
    shutil.copytree(data.parent, data.parent.parent / "plain")
    for column in ("time", "date", "timestamp"):
        set_cell(data, "small_matrix", 3, column, "")
    set_cell(data, "user_features", 2, "onehot_feat4", "")
    set_cell(data, "item_daily_features", 2, "collect_cnt", "")
    set_cell(data, "kuairec_caption_category", 2, "caption", "")
    small = (data / "small_matrix.csv").read_text().splitlines()[1].split(",")
    big = data / "big_matrix.csv"
    big_lines = big.read_text().splitlines()
    pair_row = big_lines[1].split(",")
    pair_row[:2] = small[:2]  # big row with small's first (user, video) pair
    big.write_text("\n".join([*big_lines, big_lines[1], ",".join(pair_row)]) + "\n")

    plain = CliRunner().invoke(cli, ["validate", str(data.parent.parent / "plain"), "--json"])
    checked = CliRunner().invoke(cli, ["validate", str(data), "--json"])
    assert checked.exit_code == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["small_big_overlap_pairs"] == 1 and "drops those big_matrix rows" in report["warnings"][-1]
    out = tmp_path / "art"
    built = build(data, out)
    assert built.exit_code == 0, built.stderr
    counts = json.loads((out / "manifest.json").read_text())["row_counts"]
    assert counts["big_rows_dropped_eval_pairs"] == 1
    before = {f["file"]: f for f in json.loads(plain.stdout)["files"]}["big_matrix.csv"]["duplicate_rows"]
    after = {f["file"]: f for f in report["files"]}["big_matrix.csv"]["duplicate_rows"]
    assert after == before + 1 and counts["big_duplicates_dropped"] == before + 1
    assert counts["eval_rows_missing_time"] >= 1


def test_a_non_finite_array_is_never_saved(tmp_path):
    with pytest.raises(InternalError, match="x.npy: 2 non-finite"):
        save_npy(tmp_path, "x.npy", np.array([1.0, np.nan, np.inf], dtype=np.float32))
    assert not (tmp_path / "x.npy").exists()
    save_npy(tmp_path, "ids.npy", np.arange(3))  # integers are not checked
    assert (tmp_path / "ids.npy").exists()


# ---- random corruption: a valid ART or exit 2 with one line, never a traceback ----

TOKENS = [
    "",
    "nan",
    "inf",
    "-1",
    "0",
    "-0",
    "1e400",
    "abc",
    "[1, 2",
    "[99]",
    "[]",
    " 7",
    "2.5",
    '"',
    "\r",
    "9e307",
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    file=st.sampled_from([f.name for f in FILES]),
    row=st.integers(1, 4),
    col=st.integers(0, 60),
    how=st.sampled_from(["token", "set byte", "delete byte", "insert byte"]),
    token=st.sampled_from(TOKENS),
    pos=st.integers(0, 10**6),
    byte=st.integers(0, 255),
)
def test_one_random_corruption_never_ends_in_a_traceback(
    tiny_data, tmp_path_factory, file, row, col, how, token, pos, byte
):
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(tiny_data, root / "syn")
    data = root / "syn" / "data"
    columns = FILES_BY_NAME[file].columns
    if how == "token":
        set_cell(data, file, row, columns[col % len(columns)].name, token)
    else:
        path = data / f"{file}.csv"
        raw = bytearray(path.read_bytes())
        if how == "set byte":
            raw[pos % len(raw)] = byte
        elif how == "delete byte":
            del raw[pos % len(raw)]
        else:
            raw.insert(pos % len(raw), byte)
        path.write_bytes(bytes(raw))
    out = root / "art"
    built = build(data, out)
    checked = validate(data)
    if built.exit_code == 0:
        assert (out / "manifest.json").is_file() and not list(root.glob("art.tmp-*"))
        assert checked.exit_code == 0, checked.stderr
    else:
        assert error_line(built) == error_line(checked)
        no_art_left(out)


def test_find_row_skips_lines_the_predicate_rejects(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"a,b\n1,2,x\n1,2,y\n3,4,\xff\n")
    assert find_row(path, "1,2,") == (2, "1,2,x")
    assert find_row(path, "1,2,", lambda text: text.endswith("y")) == (3, "1,2,y")
    assert find_row(path, "1,2,", lambda text: False) is None
    assert find_row(path, "3,4,") == (4, "3,4,\ufffd")  # bytes that are not UTF-8 are replaced
    assert find_row(path, "a,") is None  # the header is not a data row
