"""Rows of memory-mapped artifact arrays read with pread: the same values as indexing the
mapping, and the file's pages not mapped into the process by the read."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pytest
from scipy import sparse

from recommender.model import mapped


def _stored(tmp_path: Path, **arrays: np.ndarray) -> dict:
    """The arrays written as an artifact is (joblib) and loaded memory-mapped, as store.load
    loads a model."""
    path = tmp_path / "artifact.joblib"
    joblib.dump(arrays, path)
    return joblib.load(path, mmap_mode="r")


def _resident_kib(path: Path) -> int:
    """Resident KiB of this process's mappings of `path` (/proc/self/smaps)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        if line[:1].isdigit() or line[:1] in "abcdef":
            fields = line.split()
            inside = len(fields) >= 6 and fields[5] == str(path)
        elif inside and line.startswith("Rss:"):
            total += int(line.split()[1])
    return total


@pytest.fixture
def terms() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((5000, 64)).astype(np.float32)


def test_rows_are_the_same_values_in_any_order_with_repeats(tmp_path, terms):
    loaded = _stored(tmp_path, terms=terms)["terms"]
    assert isinstance(loaded, np.memmap)
    for ids in ([0], [4999], [3, 1, 2], [7, 7, 4000, 7, 12], [*range(100, 400), 4500]):
        got = mapped.rows(loaded, ids)
        assert got.dtype == np.float32
        assert not isinstance(got, np.memmap)
        np.testing.assert_array_equal(got, terms[ids])
    scattered = np.random.default_rng(1).choice(5000, 900, replace=False)
    np.testing.assert_array_equal(mapped.rows(loaded, scattered), terms[scattered])
    assert mapped.rows(loaded, []).shape == (0, 64)


def test_a_view_of_some_rows_reads_from_its_own_start(tmp_path, terms):
    loaded = _stored(tmp_path, terms=terms)["terms"]
    view = loaded[1000:2000]
    np.testing.assert_array_equal(mapped.rows(view, [0, 5, 999]), terms[[1000, 1005, 1999]])


def test_ids_outside_the_array_are_refused(tmp_path, terms):
    loaded = _stored(tmp_path, terms=terms)["terms"]
    with pytest.raises(IndexError):
        mapped.rows(loaded, [5000])
    with pytest.raises(IndexError):
        mapped.rows(loaded, [-1])


def test_product_adds_the_same_terms_in_the_same_order(tmp_path, terms):
    loaded = _stored(tmp_path, terms=terms)["terms"]
    matrix = sparse.random(40, 5000, density=0.01, format="csr", dtype=np.float32, random_state=2)
    empty = sparse.csr_matrix((1, 5000), dtype=np.float32)
    matrix = sparse.vstack([matrix[:3], empty, matrix[3:]], format="csr")  # an empty row
    got = mapped.product(matrix, loaded)
    assert got.dtype == np.float32
    # Bit for bit the product with the whole array in memory.
    np.testing.assert_array_equal(got, np.asarray(matrix @ terms))
    np.testing.assert_array_equal(
        mapped.product(sparse.csr_matrix((2, 5000), dtype=np.float32), loaded),
        np.zeros((2, 64), np.float32),
    )


def test_widened_reads_the_whole_float16_matrix(tmp_path, terms, monkeypatch):
    half = terms.astype(np.float16)
    loaded = _stored(tmp_path, half=half)["half"]
    monkeypatch.setattr(mapped, "BLOCK_BYTES", 64 * 128 * 7)  # several blocks, the last short
    got = mapped.widened(loaded, np.float32)
    np.testing.assert_array_equal(got, half.astype(np.float32))


def test_in_memory_arrays_are_indexed_as_they_are(terms):
    np.testing.assert_array_equal(mapped.rows(terms, [9, 2]), terms[[9, 2]])
    matrix = sparse.random(5, 5000, density=0.02, format="csr", dtype=np.float32, random_state=3)
    np.testing.assert_array_equal(mapped.product(matrix, terms), matrix @ terms)


def test_reading_rows_does_not_map_the_file_but_indexing_the_mapping_does(tmp_path):
    # 16 MiB of rows, read in the page cache first so both ways find the same cached file.
    big = np.ones((32_768, 128), np.float32)
    loaded = _stored(tmp_path, big=big)["big"]
    path = Path(loaded.filename)
    path.read_bytes()
    scattered = np.arange(0, 32_768, 64)  # one row in every 32 KiB
    assert _resident_kib(path) == 0
    np.testing.assert_array_equal(mapped.rows(loaded, scattered), big[scattered])
    assert mapped.widened(loaded).sum() == big.size
    assert _resident_kib(path) == 0
    _ = np.asarray(loaded[scattered]).sum()
    # Indexing the mapping itself maps at least the 512 pages it touches.
    assert _resident_kib(path) >= 512 * 4


def _open_descriptors() -> int:
    return len(list(Path("/proc/self/fd").iterdir()))


def test_no_descriptor_is_kept_and_a_deleted_file_is_read_through_the_mapping(tmp_path, terms):
    loaded = _stored(tmp_path, terms=terms)["terms"]
    before = _open_descriptors()
    np.testing.assert_array_equal(mapped.rows(loaded, [3, 4000]), terms[[3, 4000]])
    # A kept descriptor would hold an artifact pruned after a refit on disk for good.
    assert _open_descriptors() == before
    Path(loaded.filename).unlink()
    np.testing.assert_array_equal(mapped.rows(loaded, [3, 4000]), terms[[3, 4000]])
