"""A consistent copy of the database and the key files, made while the app runs.

The database is copied with SQLite's online backup API in one step: the copy is the database as
one committed transaction left it, even while a sync writes (WAL lets the copy read a snapshot
without stopping the writer). It is written next to its final name and renamed only once it is
complete and passes ``PRAGMA integrity_check``, so a full disk leaves no half copy behind. The
copy is a single file (journal mode DELETE, no ``-wal``); the app turns WAL on again when it
opens a restored copy. Restoring is described in the README ("Back up and restore").

On PostgreSQL there is no file to copy: ``flask backup`` says to use ``pg_dump`` and stops.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from sqlalchemy.engine import make_url

from pp2eb.dbconfig import BUSY_TIMEOUT_MS
from pp2eb.setup import crypto

logger = logging.getLogger(__name__)

# Files of the instance folder that belong with the database: without encryption.key the stored
# API key and token cannot be read; secret_key keeps logins valid; config.py is the set-up.
INSTANCE_FILES = (crypto.KEY_FILE, "secret_key", "config.py")
PART = ".part"


class BackupError(Exception):
    """The backup could not be made; the message says why, for a person."""


@dataclass
class Backup:
    """What a backup wrote, and what it could not include."""

    folder: Path
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def database_path(uri: str) -> Path:
    """The file of an SQLite database URI; BackupError for any other database."""
    url = make_url(uri)
    if url.get_backend_name() == "postgresql":
        # PostgreSQL has its own consistent copy while the app runs; the key files are still
        # needed with it, or the stored API key and token cannot be read.
        raise BackupError(
            "flask backup copies an SQLite database file; this database is PostgreSQL: back it "
            'up with pg_dump (README, "PostgreSQL"), and copy the instance folder\'s '
            f"{crypto.KEY_FILE} and secret_key with it."
        )
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupError("flask backup copies an SQLite database file; this one is not.")
    return Path(url.database)


def copy_database(source: Path, target: Path) -> None:
    """Copy the SQLite database ``source`` to ``target`` (a new file) as one consistent snapshot."""
    if not source.is_file():
        raise BackupError(f"There is no database at {source}.")
    part = target.with_name(target.name + PART)
    part.unlink(missing_ok=True)
    try:
        src = sqlite3.connect(source, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            dst = sqlite3.connect(part)
            try:
                src.backup(dst)  # all pages in one step: one snapshot, never a mix of two
                dst.execute("PRAGMA journal_mode=DELETE")
                check = dst.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                dst.close()
        finally:
            src.close()
        if check != "ok":
            raise BackupError(f"The copy of the database failed its integrity check: {check}")
        _private(part)
        _fsync(part)
        part.replace(target)
    except (sqlite3.Error, OSError) as exc:
        part.unlink(missing_ok=True)
        raise BackupError(
            f"The database could not be copied to {target.parent} ({exc}). Check that there is "
            "room on the disk and that the folder can be written; nothing was kept."
        ) from exc
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def make_backup(app: Flask, folder: Path) -> Backup:
    """Copy ``app``'s database and its instance key files into ``folder`` (made, mode 0700)."""
    source = database_path(app.config["SQLALCHEMY_DATABASE_URI"])
    folder = Path(folder)
    target = folder / source.name
    if target.exists():
        raise BackupError(f"{folder} already holds a backup ({target.name}); choose a new folder.")
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"The folder {folder} cannot be made ({exc}).") from exc
    result = Backup(folder)
    copy_database(source, target)
    result.files.append(target)
    instance = Path(app.instance_path)
    for name in INSTANCE_FILES:
        path = instance / name
        if not path.is_file():
            continue
        try:
            copied = Path(shutil.copyfile(path, folder / name))
            _private(copied)
        except OSError as exc:
            raise BackupError(f"{name} could not be copied to {folder} ({exc}).") from exc
        result.files.append(copied)
    if app.config.get("ENCRYPTION_KEY"):
        result.notes.append(
            "The encryption key is set with ENCRYPTION_KEY (environment or config.py), not kept "
            "in encryption.key: keep it safe with this backup; without it the stored API key "
            "and token cannot be read."
        )
    logger.info("backup of %s made in %s", source.name, folder)
    return result


def _private(path: Path) -> None:
    # The copy holds the same secrets as the original: readable by the app's user only.
    os.chmod(path, 0o600)


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())
