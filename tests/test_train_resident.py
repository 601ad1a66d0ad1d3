"""Device-resident epochs and the run's guards: the on-device shuffle is a seeded bijection, the data path
is chosen by size, a diverging loss stops training with exit 2, and a batch larger than the data is capped."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from click.testing import CliRunner
from fake_art import write_fake_art
from hypothesis import given, settings
from hypothesis import strategies as hst

from kuaicore.cli import cli
from kuaicore.training import resident as rs
from kuaicore.training import step as st

TINY = ["--model", "two-tower", "--epochs", "1", "--dims", "16,8"]


@pytest.fixture(scope="module")
def art(tmp_path_factory):
    return write_fake_art(tmp_path_factory.mktemp("resident") / "ART")


@settings(max_examples=25, deadline=None)
@given(n=hst.integers(1, 3000), seed=hst.integers(0, 2**31 - 1), epoch=hst.integers(0, 100))
def test_permute_is_a_bijection(n, seed, epoch):
    keys = rs.epoch_keys(seed, epoch)
    positions = jnp.minimum(jnp.arange(3000, dtype=jnp.int32), n - 1)  # one shape: few compilations
    image = np.asarray(_permute(positions, n, keys, rs._half_bits(n)))[:n]
    np.testing.assert_array_equal(np.sort(image), np.arange(n))
    if n <= 200:  # the traced-n variant equals the one the training loop uses
        np.testing.assert_array_equal(image, np.asarray(rs.permute(jnp.arange(n, dtype=jnp.int32), n, keys)))


_permute = jax.jit(rs.permute, static_argnums=3)


def test_permute_shuffles_and_depends_on_the_epoch():
    n = 10_000
    first = np.asarray(rs.permute(jnp.arange(n), n, rs.epoch_keys(0, 0)))
    second = np.asarray(rs.permute(jnp.arange(n), n, rs.epoch_keys(0, 1)))
    assert (first != second).mean() > 0.99
    # a shuffle, not a shift: consecutive positions land far apart, and the image is uncorrelated
    assert abs(np.corrcoef(np.arange(n), first)[0, 1]) < 0.05
    assert np.median(np.abs(np.diff(first))) > n / 10


def test_fits_by_size_and_mode(monkeypatch):
    mesh = st.make_mesh()
    assert rs.fits(10**12, mesh, "device") and not rs.fits(10, mesh, "stream")
    assert rs.fits(1000, mesh) and not rs.fits(10**9, mesh)  # 16 GB x 2 devices > 1 GiB
    monkeypatch.setattr(rs, "CPU_BUDGET_BYTES", 0)
    assert not rs.fits(1, mesh)
    with pytest.raises(ValueError, match="data mode"):
        rs.fits(1, mesh, "disk")


def test_load_rows_packs_every_row_group_in_file_order(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 1000
    rng = np.random.default_rng(0)
    cols = {
        "user_idx": rng.integers(0, 50, n).astype(np.int32),
        "item_idx": rng.integers(0, 80, n).astype(np.int32),
        "target": rng.normal(size=n).astype(np.float32),
        "label": (rng.random(n) < 0.3).astype(np.float32),
    }
    path = tmp_path / "train.parquet"
    pq.write_table(pa.table(cols), path, row_group_size=300)  # 4 row groups, the last one short
    assert pq.ParquetFile(path).num_row_groups == 4
    packed, rows = rs.load_rows(path, st.make_mesh())
    assert rows == n
    got = rs.unpack_rows(packed)
    for name, want in cols.items():
        np.testing.assert_array_equal(np.asarray(got[name]), want)


@pytest.mark.parametrize("path", ["device", "stream"])
def test_diverging_loss_exits_2_naming_the_step(art, path, monkeypatch):
    if path == "stream":
        monkeypatch.setattr(rs, "CPU_BUDGET_BYTES", 0)
    result = CliRunner().invoke(
        cli, ["train", str(art), *TINY, "--batch-size", "64", "--lr", "1e38", "--run", f"nan-{path}"]
    )
    assert result.exit_code == 2, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert "loss became non-finite" in last and "at epoch 1, step " in last and "lower --lr" in last, last
    assert not (art / "runs" / f"nan-{path}" / "params.npz").exists()


def test_batch_larger_than_the_data_is_capped(art):
    import pyarrow.parquet as pq

    n_train = pq.ParquetFile(art / "train.parquet").metadata.num_rows
    capped = st.effective_batch_size(n_train, 2)  # then a multiple of the 2 devices
    result = CliRunner().invoke(cli, ["train", str(art), *TINY, "--batch-size", "10000000", "--run", "big"])
    assert result.exit_code == 0, result.output
    assert f"batch size 10000000 -> {capped} (at most the {n_train:,} training rows" in result.stderr
    config = json.loads((art / "runs/big/config.json").read_text())
    assert config["info"]["effective_batch_size"] == capped and config["info"]["batches_per_epoch"] == 1
