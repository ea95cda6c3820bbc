"""Facts about the machine the app runs on, read from the kernel (no other dependency).

Settings read them for their defaults (the memory budget is the container's limit when it
has one); the job runtime reads them to size jobs.
"""

from __future__ import annotations

from pathlib import Path

# cgroup v1 reports "no limit" as a huge number near 2**63; anything above this is unlimited.
_UNLIMITED_THRESHOLD = 1 << 60


def cgroup_memory_limit_bytes(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """Return the container's memory limit in bytes, or None when no limit is set.

    Reads cgroup v2 ``memory.max`` first, then cgroup v1 ``memory/memory.limit_in_bytes``.
    """
    candidates = [root / "memory.max", root / "memory" / "memory.limit_in_bytes"]
    for path in candidates:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text == "max":
            return None
        try:
            value = int(text)
        except ValueError:
            continue
        return None if value <= 0 or value >= _UNLIMITED_THRESHOLD else value
    return None
