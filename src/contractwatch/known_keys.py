"""Which transaction keys the store and the loads of this ingest already hold, while few.

Comparing a load with the store's current state (new, revised, unchanged rows) and checking
its keys against loads of the same vintage both build a catalog over every load: about a
second each, whatever the size of the load. A ZIP of 1,000 small members paid that 1,000
times, against a catalog growing with each member (30 minutes). When no key of a new load
occurs in any earlier load, both answers are known without a catalog: every row is new and
no transaction is shared. This module answers that question from the keys' 64-bit hashes
(equal keys have equal hashes; a shared hash, even a collision, takes the full path).

Hashes are kept only while they are few (`LIMIT` rows, 8 bytes each), so memory stays
bounded; beyond that every load takes the full path, whose fixed cost is then small next to
the load's own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

LIMIT = 2_000_000  # key hashes held in memory at most (16 MB)


class KnownKeys:
    """Key hashes of the committed loads (read on first use) and of the loads staged since."""

    def __init__(self, root: Path, existing: list[Any]):
        self.root = root
        self.existing = existing
        self.started = False
        self.sorted: Any = None  # one sorted array of unique hashes (numpy uint64)
        self.recent: list[Any] = []  # arrays added since the last merge
        self.count = 0
        self.disabled = False  # too many to hold: every load takes the full path

    def _start(self, con: Any) -> None:
        import numpy as np

        from contractwatch.store import committed_files

        self.started = True
        self.sorted = np.empty(0, dtype=np.uint64)
        if sum(r.rows_kept or 0 for r in self.existing) > LIMIT:
            self.disabled = True
            return
        files = committed_files(self.root, self.existing, "transactions.parquet")
        if files:
            self.add(con.execute("SELECT hash(txn_key) AS h FROM read_parquet(?)",
                                 [files]).fetchnumpy()["h"])

    def all_new(self, hashes: Any, con: Any) -> bool:
        """True when none of these key hashes occurs in an earlier load (certain); False
        when one does, or when that cannot be told cheaply."""
        import numpy as np

        if not self.started:
            self._start(con)
        if hashes is None or self.disabled:
            return False
        if len(self.sorted):
            at = np.minimum(np.searchsorted(self.sorted, hashes), len(self.sorted) - 1)
            if (self.sorted[at] == hashes).any():
                return False
        return not any(np.isin(hashes, r).any() for r in self.recent)

    def add(self, hashes: Any) -> None:
        """Remember a staged load's key hashes (None: too many; stop keeping any)."""
        import numpy as np

        if not self.started or hashes is None or self.count + len(hashes) > LIMIT:
            self.disabled, self.started = True, True
            self.sorted, self.recent = np.empty(0, dtype=np.uint64), []
            return
        if self.disabled:
            return
        self.recent.append(hashes)
        self.count += len(hashes)
        # merged when the recent arrays grow: each check stays one binary search plus a
        # few small ones, and each hash is merged O(log n) times
        if len(self.recent) > 16 or sum(len(r) for r in self.recent) * 4 > len(self.sorted):
            self.sorted = np.unique(np.concatenate([self.sorted, *self.recent]))
            self.recent = []


def read_key_hashes(path: Path, rows: int) -> Any:
    """The key hashes of a staged load's side file, or None when there are too many."""
    if rows > LIMIT:
        return None
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=["key_hash"]).column(0).to_numpy()
