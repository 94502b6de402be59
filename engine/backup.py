"""``skillpath backup DEST`` and ``skillpath restore SRC``: a consistent copy of a home, online.

The SQLite files (the store, the audit trail) are copied with SQLite's online backup API
(:meth:`sqlite3.Connection.backup`): it reads a consistent snapshot while the server keeps
answering and writing, which a file copy of a WAL database does not guarantee. The FAISS
bundles are copied folder by folder as their manifests name them (the folder first, then the
manifest, so a restored manifest never points at a missing folder). A ``backup.json`` records
what was copied, with SHA-256 sums, the catalogue revision and the time; ``restore`` checks
them before it writes anything.

The request log (``requests.jsonl``, what ``skillpath replay`` reads) is copied line-whole
under a shared lock (appends take it exclusively); ``restore`` puts it into a home that has
none, and keeps a home's own log, which is newer.

Restore writes into a home that no server is using (stop it, or restore to a new folder and
point ``SKILLPATH_HOME`` there); the credential index of an older revision is rebuilt on the
next start because the store's revision and the index's differ.

PostgreSQL (``SKILLPATH_DATABASE_URL``): these commands refuse, saying so; there
``pg_dump --format=custom`` for the backup and ``pg_restore --clean`` for the restore take the
place of the SQLite step, and the index folders are copied by hand.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from skillpath.files import sha256_file

SQLITE_FILES = ("skillpath.sqlite", "audit.sqlite")
REQUEST_LOG = "requests.jsonl"  # the recommendation request log (engine/request_log.py)
MANIFEST = "backup.json"


class BackupError(RuntimeError):
    """A backup or restore that cannot go on; the message says what and where."""


def _sqlite_copy(src: Path, dst: Path) -> None:
    source = sqlite3.connect(src, timeout=30)
    target = sqlite3.connect(dst)
    try:
        source.backup(target)  # one consistent snapshot, concurrent writers allowed
        target.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal
    finally:
        target.close()
        source.close()


def _revision(db: Path) -> int | None:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'catalogue_revision'").fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return int(row[0]) if row else 0


def _copy_bundles(index_root: Path, dest_root: Path) -> list[str]:
    """Copy every bundle a manifest names (retrying if a concurrent save replaced it)."""
    copied: list[str] = []
    for manifest_path in sorted(index_root.glob("*/*.manifest.json")):
        for _attempt in range(3):
            manifest = json.loads(manifest_path.read_text())
            folder = manifest_path.parent / manifest["folder"]
            target = dest_root / manifest_path.parent.name
            target.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copytree(folder, target / folder.name, dirs_exist_ok=True)
            except (FileNotFoundError, shutil.Error):  # replaced meanwhile: read it again
                shutil.rmtree(target / folder.name, ignore_errors=True)
                continue
            (target / manifest_path.name).write_text(json.dumps(manifest, indent=2))
            copied.append(f"{manifest_path.parent.name}/{manifest_path.name}")
            break
        else:
            raise BackupError(f"{manifest_path}: the bundle kept changing during the backup")
    return copied


def _copy_log(src: Path, dst: Path) -> None:
    """The request log's whole lines, read under a shared lock (appends take it exclusive)."""
    with src.open("rb") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_SH)
        data = fh.read()
    dst.write_bytes(data[: data.rfind(b"\n") + 1])
    dst.chmod(0o600)  # it holds learner profiles


def _files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): sha256_file(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    }


def backup(home: Path, dest: Path) -> dict[str, Any]:
    """Copy ``home`` (store, audit trail, index bundles) to the new folder ``dest``."""
    db = home / "skillpath.sqlite"
    if not db.is_file():
        raise BackupError(f"{db}: no store to back up (is SKILLPATH_HOME right?)")
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest}: exists and is not empty; give a new folder")
    dest.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for name in SQLITE_FILES:
        if (home / name).is_file():
            _sqlite_copy(home / name, dest / name)
    bundles = _copy_bundles(home / "index", dest / "index") if (home / "index").is_dir() else []
    if (home / REQUEST_LOG).is_file():
        _copy_log(home / REQUEST_LOG, dest / REQUEST_LOG)
    info = {
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "catalogue_revision": _revision(dest / "skillpath.sqlite"),
        "bundles": bundles,
        "files": _files(dest),
        "seconds": round(time.perf_counter() - started, 2),
    }
    (dest / MANIFEST).write_text(json.dumps(info, indent=2))
    return info


def restore(source: Path, home: Path, force: bool = False) -> dict[str, Any]:
    """Put the backup ``source`` into ``home``, after checking every file's checksum."""
    manifest = source / MANIFEST
    if not manifest.is_file():
        raise BackupError(f"{source}: not a skillpath backup (no {MANIFEST})")
    info = json.loads(manifest.read_text())
    for name, digest in info["files"].items():
        path = source / name
        if not path.is_file() or sha256_file(path) != digest:
            raise BackupError(f"{path}: missing or changed since the backup; nothing restored")
    if (home / "skillpath.sqlite").exists() and not force:
        raise BackupError(f"{home}: already holds a store; stop its server and pass --force")
    home.mkdir(parents=True, exist_ok=True)
    for name in SQLITE_FILES:
        if (source / name).is_file():
            for suffix in ("-wal", "-shm"):
                (home / f"{name}{suffix}").unlink(missing_ok=True)
            _sqlite_copy(source / name, home / name)
    if (source / "index").is_dir():
        shutil.copytree(source / "index", home / "index", dirs_exist_ok=True)
    if (source / REQUEST_LOG).is_file() and not (home / REQUEST_LOG).exists():
        _copy_log(source / REQUEST_LOG, home / REQUEST_LOG)  # a home's own log is kept
    return info


# -- CLI -------------------------------------------------------------------------------------
def _home() -> Path:
    from skillpath.engine.config import Settings

    settings = Settings()
    if settings.database_url:
        raise BackupError(
            "the store is in PostgreSQL (SKILLPATH_DATABASE_URL): backup and restore copy a"
            " SQLite home only; use pg_dump --format=custom / pg_restore --clean for the store"
        )
    return Path(settings.home)


def backup_command(
    dest: Annotated[Path, typer.Argument(help="A new folder for the backup.")],
) -> None:
    """Back up the home (store, audit trail, indexes) while the server runs."""
    try:
        info = backup(_home(), dest)
    except BackupError as exc:
        raise typer.BadParameter(str(exc), param_hint="DEST") from None
    typer.echo(
        f"backed up revision {info['catalogue_revision']} to {dest}: "
        f"{len(info['files'])} files in {info['seconds']} s"
    )


def restore_command(
    source: Annotated[Path, typer.Argument(help="A folder made by `skillpath backup`.")],
    force: Annotated[bool, typer.Option(help="Replace the store already in the home.")] = False,
) -> None:
    """Restore a backup into the home (stop the server that uses it first)."""
    try:
        info = restore(source, _home(), force)
    except BackupError as exc:
        raise typer.BadParameter(str(exc), param_hint="SOURCE") from None
    typer.echo(f"restored revision {info['catalogue_revision']} from {source}")


def register(app: typer.Typer) -> None:
    """Add ``backup`` and ``restore`` to the root CLI app."""
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)


cli = typer.Typer(help="Back up and restore a skillpath home.", no_args_is_help=True)
register(cli)

if __name__ == "__main__":  # python -m skillpath.engine.backup backup DEST
    cli()
