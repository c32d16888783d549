"""Owner-only file permissions for what holds incident data: the store, rejects, exports, the
audit log.

Incident rows, rejected rows and exports name places and crimes; on a shared machine other
accounts must not read them, so files are made ``0600`` and folders ``0700`` whatever the
process umask. On systems without POSIX modes (Windows) the calls are harmless.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["PRIVATE_DIR", "PRIVATE_FILE", "make_private", "private_dir", "private_tree"]

#: Mode of every file holding incident data: read and write for the owner only.
PRIVATE_FILE = 0o600
#: Mode of every folder holding incident data: the owner only.
PRIVATE_DIR = 0o700


def make_private(*paths: str | os.PathLike) -> None:
    """Set owner-only modes on existing files (``0600``) and folders (``0700``).

    Paths that do not exist are skipped; a path the process cannot change (another owner's)
    is left as it is, since refusing to work would not protect it either.
    """
    for p in paths:
        try:
            os.chmod(p, PRIVATE_DIR if Path(p).is_dir() else PRIVATE_FILE)
        except (FileNotFoundError, PermissionError, NotImplementedError):
            pass


def private_dir(path: str | os.PathLike, *, parents: bool = True) -> Path:
    """Create ``path`` (and missing parents) as owner-only folders; return it.

    Only the folders this call creates are made ``0700``: an existing one (a home folder, the
    folder a user chose for exports) keeps its mode; ``hotspots store check`` tightens an
    existing store.
    """
    p = Path(path)
    missing = []
    q = p
    while not q.exists() and q != q.parent:
        missing.append(q)
        if not parents:
            break
        q = q.parent
    p.mkdir(mode=PRIVATE_DIR, parents=parents, exist_ok=True)
    make_private(*missing)
    return p


def private_tree(root: str | os.PathLike, *, skip: Iterable[str] = ()) -> int:
    """Make ``root`` and everything under it owner-only; return how many modes changed.

    ``skip`` names top-level entries of ``root`` to leave alone.
    """
    root = Path(root)
    skipped = set(skip)
    changed = 0
    if not root.is_dir():
        return 0
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if here == root:
            dirnames[:] = [d for d in dirnames if d not in skipped]
            filenames = [f for f in filenames if f not in skipped]
        for name, mode in [(d, PRIVATE_DIR) for d in dirnames] + \
                [(f, PRIVATE_FILE) for f in filenames] + ([("", PRIVATE_DIR)] if here == root
                                                          else []):
            p = here / name if name else here
            try:
                if p.is_symlink():
                    continue
                if (p.stat().st_mode & 0o777) != mode:
                    os.chmod(p, mode)
                    changed += 1
            except (FileNotFoundError, PermissionError, NotImplementedError):
                pass
    return changed
