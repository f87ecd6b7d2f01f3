"""Rows of the model artifact's arrays, read without mapping the file into the process.

The artifact is memory-mapped (store.load), so that a worker pays only for the parts of an
array it reads, and the pages it does read are shared with every other process. But most
reads are sparse: a profile's text touches a few dozen of the 200,000 terms of the SVD
components (98 MiB on the full dump), a day's papers a few tens of thousands, explanations
and the word-context neighbours a few rows each. On this kernel the page cache holds files in
large folios and a fault maps the whole folio around the page it needs: reading one byte every
256 KiB of a 100 MiB file mapped all 100 MiB (with or without MADV_RANDOM), so a worker ended up
holding each sparsely read array whole in its resident memory.

Reading the rows with pread instead leaves the file's pages in the page cache (shared, and
reclaimable by the kernel) and gives the process only the rows it asked for, for as long as it
uses them. The numbers are the same: the same float values, and `product` adds a row's terms in
the same order as the product on the whole array does.

Arrays that are not memory-mapped from a file (a model just fitted, test models) are indexed
as they are.
"""

from __future__ import annotations

import mmap
import os

import numpy as np
from scipy import sparse

# Wanted rows closer than this are read by one pread together with the rows between them: one
# system call costs about as much as copying a few KiB.
MAX_GAP_BYTES = 32 * 1024
# The most one read brings in at once.
MAX_RUN_BYTES = 256 * 1024
# Whole arrays are read in blocks of this many bytes, so a conversion's temporary stays small.
BLOCK_BYTES = 1024 * 1024

# Rows of a sparse matrix multiplied at a time by `product`.
PRODUCT_ROWS = 64


def _file_position(array: np.ndarray) -> tuple[str, int] | None:
    """(file name, byte offset of the array's first element) of a C-contiguous array
    memory-mapped from a file, or None for any other array (then it is indexed directly)."""
    if not isinstance(array, np.memmap) or not array.flags.c_contiguous:
        return None
    mapping = getattr(array, "_mmap", None)
    if mapping is None or array.filename is None or array.ndim != 2:
        return None
    # The mapping starts at the allocation-granularity boundary below the memmap's offset; a
    # view (a slice of rows) starts further in, found from the two addresses.
    mapping_start = np.frombuffer(mapping, dtype=np.uint8).ctypes.data
    mapped_from = array.offset - array.offset % mmap.ALLOCATIONGRANULARITY
    return array.filename, mapped_from + (array.ctypes.data - mapping_start)


def _open(name: str) -> int | None:
    """A read-only descriptor of the artifact, opened per read and closed after it (a kept one
    would hold a pruned artifact on disk for the life of the worker); None when the file is
    gone (then the mapping, which still reads it, is used)."""
    try:
        return os.open(name, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None


def _read_into(descriptor: int, target: np.ndarray, position: int) -> None:
    view = memoryview(target).cast("B")
    done = 0
    while done < len(view):
        count = os.preadv(descriptor, [view[done:]], position + done)
        if count <= 0:
            raise OSError(f"short read of the model artifact at byte {position + done}")
        done += count


def rows(array: np.ndarray, ids) -> np.ndarray:
    """`array[ids]` as a new in-memory array (ids in any order, repeats allowed)."""
    ids = np.asarray(ids, dtype=np.int64)
    located = _file_position(array) if len(ids) else None
    descriptor = _open(located[0]) if located is not None else None
    if descriptor is None:
        return np.array(array[ids])
    try:
        return _read_rows(array, ids, descriptor, located[1])
    finally:
        os.close(descriptor)


def _read_rows(array: np.ndarray, ids: np.ndarray, descriptor: int, position: int) -> np.ndarray:
    """`array[ids]` read from the open artifact, the array starting at byte `position`."""
    if ids.min() < 0 or ids.max() >= array.shape[0]:
        raise IndexError(f"row ids outside 0..{array.shape[0] - 1}")
    wanted, back = np.unique(ids, return_inverse=True)
    out = np.empty((len(wanted), array.shape[1]), dtype=array.dtype)
    row_bytes = array.strides[0]
    max_gap = max(1, MAX_GAP_BYTES // row_bytes)
    # Runs of wanted rows no further apart than max_gap, each read with one call, and none
    # longer than MAX_RUN_BYTES (rows spread evenly over a matrix would otherwise make one run
    # of the whole matrix, read into a temporary as large).
    per_run = max(1, MAX_RUN_BYTES // row_bytes)
    breaks = np.flatnonzero((np.diff(wanted) > max_gap) | (np.diff(wanted // per_run) != 0)) + 1
    starts = np.concatenate([[0], breaks]).tolist()
    ends = np.concatenate([breaks, [len(wanted)]]).tolist()
    for start, end in zip(starts, ends, strict=True):
        first, last = int(wanted[start]), int(wanted[end - 1])
        span = last - first + 1
        if span == end - start:  # every row of the run is wanted
            _read_into(descriptor, out[start:end], position + first * row_bytes)
        else:
            block = np.empty((span, array.shape[1]), dtype=array.dtype)
            _read_into(descriptor, block, position + first * row_bytes)
            out[start:end] = block[wanted[start:end] - first]
    return out if len(wanted) == len(ids) and (back == np.arange(len(ids))).all() else out[back]


def widened(array: np.ndarray, dtype=np.float32) -> np.ndarray:
    """The whole array converted to `dtype`, read in blocks (a float16 matrix of the artifact
    widened for the products scoring runs, without its pages staying mapped)."""
    located = _file_position(array)
    if located is None:
        return array.astype(dtype)
    out = np.empty(array.shape, dtype=dtype)
    step = max(1, BLOCK_BYTES // array.strides[0])
    for start in range(0, array.shape[0], step):
        stop = min(start + step, array.shape[0])
        out[start:stop] = rows(array, np.arange(start, stop))
    return out


def product(matrix: sparse.spmatrix, array: np.ndarray) -> np.ndarray:
    """`matrix @ array` (sparse rows times a dense array), reading only the array's rows that
    the matrix has entries for. The columns are renumbered in the same order, so each output
    adds the same terms in the same order as the product with the whole array."""
    matrix = sparse.csr_matrix(matrix)
    if _file_position(array) is None:
        return np.asarray(matrix @ array)
    if matrix.shape[0] > PRODUCT_ROWS:
        # A day's papers use tens of thousands of terms together: their rows read at once were
        # a 30 MB temporary; a few papers at a time, a few MB.
        out = np.empty((matrix.shape[0], array.shape[1]), np.result_type(matrix.dtype, array))
        for start in range(0, matrix.shape[0], PRODUCT_ROWS):
            out[start : start + PRODUCT_ROWS] = product(matrix[start : start + PRODUCT_ROWS], array)
        return out
    used = np.unique(matrix.indices)
    renumbered = sparse.csr_matrix(
        (matrix.data, np.searchsorted(used, matrix.indices), matrix.indptr),
        shape=(matrix.shape[0], len(used)),
    )
    return np.asarray(renumbered @ rows(array, used))
