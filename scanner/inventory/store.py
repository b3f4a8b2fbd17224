"""The inventory: an embedded SQLite file recording every run and every target's outcome.

- WAL mode and a busy timeout: two scanner processes may write one file at once. Each run inserts
  its ``runs`` row when it starts and records everything else in one ``BEGIN IMMEDIATE``
  transaction when it ends, so runs are serialised there and each one's drift is computed
  against the run committed before it. A run is never lost; a run that fails keeps the last good
  state untouched (it is recorded as ``failed``, with its error).
- No secret is ever written. A connection config, which holds secrets, is kept only as an
  HMAC-SHA256 under a key stored in a separate file (``<inventory>.key``, mode 0600): the hash
  detects a rotated password without letting anyone with the database test guesses against it.
- Only scanner's own file is ever changed. Before anything touches an existing file (the key, WAL mode, the
  schema), it must be a missing or empty file, or a SQLite database holding scanner's schema (``user_version``
  set and scanner's tables there); any other file, such as an application's database ``--inventory`` was
  pointed at by mistake, is refused and left as it is. The views (``read_only``) never create or change anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from scanner.errors import ConfigError
from scanner.inventory.drift import Event, Known, Observation, diff

SCHEMA_VERSION = 3  # 2: observations.origin (where a target was declared or found); 3: targets.pipeline
BUSY_TIMEOUT_S = float(os.environ.get("SCANNER_INVENTORY_BUSY_TIMEOUT") or 30.0)  # wait for another scanner
PENDING_SUFFIX = ".pending.jsonl"  # catalog writes the inventory could not take, recorded on its next open
SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file
OWN_TABLES = frozenset({"runs", "observations", "targets", "events"})  # in every schema since 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    state TEXT NOT NULL,                 -- running | finished | failed | interrupted
    settings_fingerprint TEXT NOT NULL,
    platforms TEXT NOT NULL,             -- JSON list: the platforms this run covered
    dry_run INTEGER NOT NULL,
    catalog_host TEXT,
    exit_code INTEGER,
    totals TEXT,                         -- JSON
    error TEXT
);
CREATE TABLE IF NOT EXISTS observations (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    service_name TEXT NOT NULL,
    platform TEXT NOT NULL,
    instance TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL,
    version TEXT,
    steps TEXT NOT NULL,                 -- JSON [[name, status], ...]
    message TEXT,
    config_hash TEXT,
    action TEXT NOT NULL,
    taken TEXT,
    origin TEXT,                         -- env:..., config.toml:[[targets]]#2, sweep:10.0.0.0/24:8088, kubernetes:...
    PRIMARY KEY (run_id, service_name)
);
CREATE TABLE IF NOT EXISTS targets (
    service_name TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL,
    version TEXT,
    config_hash TEXT,
    state TEXT NOT NULL,                 -- present | gone
    missing_runs INTEGER NOT NULL DEFAULT 0,
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    last_seen_run INTEGER NOT NULL,
    last_ok_at TEXT,
    registered_in TEXT,                  -- catalog host where scanner itself created or updated it
    pruned_at TEXT,
    pipeline TEXT                        -- JSON: its metadata pipeline and last trigger (scanner.ingestion)
);
CREATE TABLE IF NOT EXISTS events (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    service_name TEXT NOT NULL,
    kind TEXT NOT NULL,                  -- new | changed | gone | recovered | pruned
    detail TEXT NOT NULL,                -- JSON
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS writes (      -- each catalog write, recorded the moment it is answered
    run_id INTEGER NOT NULL,
    service_name TEXT NOT NULL,
    catalog_host TEXT NOT NULL,
    taken TEXT NOT NULL,                 -- created | updated
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS writes_by_host ON writes(catalog_host, service_name);
CREATE INDEX IF NOT EXISTS observations_by_service ON observations(service_name, run_id);
CREATE INDEX IF NOT EXISTS events_by_service ON events(service_name, run_id);
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class TargetRecord:
    """One target as a run saw it, ready to store (no secret)."""

    observation: Observation
    instance: str
    steps: list[tuple[str, str]]
    message: str
    action: str
    taken: str | None
    registered: bool  # scanner created or updated it in the catalog in this run
    origin: str = ""  # where it was declared or found (env:..., sweep:..., kubernetes:...)
    pipeline: dict[str, Any] | None = None  # its metadata pipeline as this run left it (None: not looked at)


class Inventory:
    """Scanner's inventory at ``path``. ``read_only``: a view (``scanner inventory``/``history``) of an existing
    inventory, which creates and changes nothing (no key, no schema, no migration); it cannot record runs."""

    def __init__(self, path: Path, *, read_only: bool = False):
        self.path = path
        self.read_only = read_only
        self._rehearsing = False
        self._lock = threading.RLock()  # registration threads record writes while the run goes on
        self._keyed: Any = None
        try:
            self._open(path)
        except BaseException as exc:
            if getattr(self, "_db", None) is not None:  # refused after connecting: let the file go at once
                self._db.close()
            if isinstance(exc, sqlite3.DatabaseError):
                raise ConfigError(f"cannot use the inventory: {exc}", where=str(path),
                                  hint="point --inventory (or SCANNER_INVENTORY) at a "
                                  + ("readable inventory" if read_only else "writable file")) from None
            raise

    def _open(self, path: Path) -> None:
        if self.read_only:
            _check_file(path, read_only=True)
            self._db = _connect_existing(path)
            self._db.row_factory = sqlite3.Row
            _check_schema(path, self._db, read_only=True)
            return
        check_usable(path)
        self._key = self._load_key(path)
        self._keyed = hmac.new(self._key, digestmod=hashlib.sha256)
        self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        with self._write():
            _check_schema(path, self._db, read_only=False)  # again, now that no other writer can change it
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(observations)")}
            if "origin" not in columns:  # an inventory of schema 1
                self._db.execute("ALTER TABLE observations ADD COLUMN origin TEXT")
            if "pipeline" not in {row[1] for row in self._db.execute("PRAGMA table_info(targets)")}:
                self._db.execute("ALTER TABLE targets ADD COLUMN pipeline TEXT")  # schema 2 and before
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @classmethod
    def open(cls, path: Path) -> Inventory:
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise ConfigError(f"cannot create the inventory folder: {exc.strerror}", where=str(path.parent),
                              hint="point --inventory (or SCANNER_INVENTORY) at a writable place") from None
        return cls(path)

    def close(self) -> None:
        self._db.close()

    # -- the keyed hash -------------------------------------------------------------------------
    @staticmethod
    def _load_key(path: Path) -> bytes:
        """Read the key, or make it. A new key is written whole to a private temporary file and then
        hard-linked into place, so a concurrent run sees either no key or a complete one, never a half."""
        key_path = path.with_name(path.name + ".key")
        with contextlib.suppress(FileNotFoundError):
            return _read_key(key_path)
        key = secrets.token_bytes(32)
        try:
            _publish_whole(key_path, key.hex())
        except FileExistsError:  # another run made it first: use theirs
            return _read_key(key_path)
        except OSError as exc:
            raise ConfigError(f"cannot write the inventory key: {exc.strerror}", where=str(key_path)) from None
        return key

    def config_hash(self, config: dict[str, Any]) -> str:
        """HMAC-SHA256 of the canonical JSON of a connection config (secrets included, never stored)."""
        if self._keyed is None:
            raise RuntimeError("a read-only inventory has no key")
        canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
        keyed = self._keyed.copy()  # the key schedule computed once, not per config
        keyed.update(canonical.encode())
        return keyed.hexdigest()[:32]

    # -- runs -----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _write(self) -> Iterator[None]:
        if self._rehearsing:  # inside `rehearsal()`: its transaction holds every write, and drops them
            yield
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- catalog writes, as they happen ------------------------------------------------------------
    def record_write(self, run_id: int, service_name: str, catalog_host: str, taken: str) -> None:
        """Remember a catalog write the moment it succeeded, so a run that is killed or cannot be recorded
        at its end still leaves the service known as scanner's (``registered``, prune)."""
        self.record_writes([(run_id, service_name, catalog_host, taken, _now())])

    def record_writes(self, rows: list[tuple[int, str, str, str, str]]) -> None:
        """Several catalog writes ``(run_id, service_name, catalog_host, taken, at)`` in one transaction."""
        with self._write():
            self._db.executemany("INSERT INTO writes VALUES (?,?,?,?,?)", rows)

    @property
    def pending_path(self) -> Path:
        return self.path.with_name(self.path.name + PENDING_SUFFIX)

    def keep_pending(self, writes: list[dict[str, Any]]) -> Path:
        """Append writes the database would not take to a journal beside it (one JSON object per line)."""
        with open(self.pending_path, "a", encoding="utf-8") as handle:
            for write in writes:
                handle.write(json.dumps(write) + "\n")
        return self.pending_path

    def take_pending(self) -> int:
        """Record the journal's writes (left by a run whose inventory was locked or damaged), then remove it."""
        try:
            lines = self.pending_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return 0
        writes = []
        for line in lines:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                w = json.loads(line)
                writes.append((int(w["run_id"]), str(w["service_name"]), str(w["catalog_host"]), str(w["taken"]),
                               str(w["at"])))
        with self._write():
            self._db.executemany("INSERT INTO writes VALUES (?,?,?,?,?)", writes)
        self.pending_path.unlink(missing_ok=True)
        return len(writes)

    def registered(self, catalog_host: str) -> set[str]:
        """Services scanner created or updated in this catalog and has not pruned since."""
        rows = self._db.execute(
            "SELECT service_name FROM targets WHERE registered_in=? AND pruned_at IS NULL "
            "UNION SELECT w.service_name FROM writes w LEFT JOIN targets t ON t.service_name = w.service_name "
            "WHERE w.catalog_host=? AND (t.pruned_at IS NULL OR w.at > t.pruned_at)",
            (catalog_host, catalog_host))
        return {row[0] for row in rows}

    def pruned(self, catalog_host: str) -> set[str]:
        """Services scanner registered in this catalog and then soft-deleted with ``--prune``."""
        rows = self._db.execute("SELECT service_name FROM targets WHERE registered_in=? AND pruned_at IS NOT NULL",
                                (catalog_host,))
        return {row[0] for row in rows}

    @contextlib.contextmanager
    def rehearsal(self) -> Iterator[None]:
        """Writes inside are seen by reads inside (drift, prune candidates) and then rolled back: a dry run
        shows what it would record, and the next real run still sees every change."""
        self._db.execute("BEGIN IMMEDIATE")
        self._rehearsing = True
        try:
            yield
        finally:
            self._rehearsing = False
            self._db.execute("ROLLBACK")

    def end_run(self, run_id: int, state: str, exit_code: int, totals: dict[str, Any]) -> None:
        """Close a run's row without observations or drift: a dry run (``finished``, listed as a dry run) or
        an ``interrupted`` one (its writes are already recorded; its view is incomplete)."""
        with self._write():
            self._db.execute("UPDATE runs SET state=?, finished_at=?, exit_code=?, totals=? WHERE id=?",
                             (state, _now(), exit_code, json.dumps(totals), run_id))

    def begin_run(self, fingerprint: str, platforms: list[str], dry_run: bool, catalog_host: str | None) -> int:
        with self._write():
            cursor = self._db.execute(
                "INSERT INTO runs (started_at, state, settings_fingerprint, platforms, dry_run, catalog_host) "
                "VALUES (?, 'running', ?, ?, ?, ?)",
                (_now(), fingerprint, json.dumps(sorted(platforms)), int(dry_run), catalog_host),
            )
            return int(cursor.lastrowid or 0)

    def fail_run(self, run_id: int, error: str) -> None:
        with self._write():
            self._db.execute("UPDATE runs SET state='failed', finished_at=?, error=? WHERE id=?",
                             (_now(), error[:500], run_id))

    def finish_run(
        self,
        run_id: int,
        records: list[TargetRecord],
        *,
        platforms: list[str],
        gone_after: int,
        exit_code: int,
        totals: dict[str, Any],
        catalog_host: str | None,
    ) -> list[Event]:
        """Store the run's outcomes and its drift against the last committed state, atomically."""
        now = _now()
        with self._write():
            known = {row["service_name"]: _known(row) for row in self._db.execute("SELECT * FROM targets")}
            events, state = diff(known, [r.observation for r in records], set(platforms), gone_after)
            for r in records:
                o = r.observation
                self._db.execute(
                    "INSERT INTO observations (run_id, service_name, platform, instance, url, status, version, steps, "
                    "message, config_hash, action, taken, origin) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (run_id, o.service_name, o.platform, r.instance, o.url, o.status, o.version,
                     json.dumps(r.steps), r.message, o.config_hash, r.action, r.taken, r.origin),
                )
            by_name = {r.observation.service_name: r for r in records}
            for name, entry in state.items():
                record = by_name.get(name)
                self._db.execute(
                    "INSERT INTO targets (service_name, platform, url, status, version, config_hash, state, "
                    "missing_runs, first_seen_at, last_seen_at, last_seen_run) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
                    "ON CONFLICT(service_name) DO UPDATE SET platform=excluded.platform, url=excluded.url, "
                    "status=excluded.status, version=excluded.version, config_hash=excluded.config_hash, "
                    "state=excluded.state, missing_runs=excluded.missing_runs"
                    + (", last_seen_at=excluded.last_seen_at, last_seen_run=excluded.last_seen_run"
                       if record else ""),
                    (name, entry.platform, entry.url, entry.status, entry.version, entry.config_hash, entry.state,
                     entry.missing_runs, now, now, run_id),
                )
                if record and entry.status == "ok":
                    self._db.execute("UPDATE targets SET last_ok_at=? WHERE service_name=?", (now, name))
                if record and record.pipeline is not None:
                    self._db.execute("UPDATE targets SET pipeline=? WHERE service_name=?",
                                     (json.dumps(_merged_pipeline(self._db, name, record.pipeline)), name))
                if record and record.registered and catalog_host:
                    self._db.execute("UPDATE targets SET registered_in=?, pruned_at=NULL WHERE service_name=?",
                                     (catalog_host, name))
            if catalog_host:  # writes of runs that were killed before they could record themselves
                self._db.execute(
                    "UPDATE targets SET registered_in=? WHERE registered_in IS NULL AND service_name IN "
                    "(SELECT w.service_name FROM writes w WHERE w.catalog_host=? "
                    "AND (targets.pruned_at IS NULL OR w.at > targets.pruned_at))", (catalog_host, catalog_host))
            for event in events:
                self._db.execute("INSERT INTO events VALUES (?,?,?,?,?)",
                                 (run_id, event.service_name, event.kind, json.dumps(event.detail), now))
            self._db.execute(
                "UPDATE runs SET state='finished', finished_at=?, exit_code=?, totals=? WHERE id=?",
                (now, exit_code, json.dumps(totals), run_id),
            )
        return events

    def mark_pruned(self, run_id: int, names: list[str]) -> None:
        now = _now()
        with self._write():
            for name in names:
                self._db.execute("UPDATE targets SET pruned_at=? WHERE service_name=?", (now, name))
                self._db.execute("INSERT INTO events VALUES (?,?,?,?,?)", (run_id, name, "pruned", "{}", now))

    # -- reading --------------------------------------------------------------------------------
    def targets(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM targets ORDER BY platform, service_name").fetchall()
        return [_decoded(dict(row), "pipeline") for row in rows]

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [_decoded(dict(row), "platforms", "totals") for row in rows]

    def history(self, service_name: str) -> list[dict[str, Any]]:
        """The target's timeline, oldest first: every finished run since it was first seen that covered its
        platform (``seen`` False when that run did not find it), with the drift events of each run."""
        observed = {
            row["run_id"]: _decoded(dict(row), "steps")
            for row in self._db.execute(
                "SELECT o.*, r.started_at, r.dry_run FROM observations o JOIN runs r ON r.id = o.run_id "
                "WHERE o.service_name=? ORDER BY o.run_id", (service_name,))
        }
        if not observed:
            return []
        events: dict[int, list[dict[str, Any]]] = {}
        for row in self._db.execute("SELECT * FROM events WHERE service_name=? ORDER BY rowid", (service_name,)):
            events.setdefault(row["run_id"], []).append({"kind": row["kind"], "detail": json.loads(row["detail"])})
        platform = next(iter(observed.values()))["platform"]
        timeline = []
        for run in self._db.execute("SELECT id, started_at, platforms FROM runs WHERE id >= ? AND state='finished' "
                                    "AND dry_run=0 ORDER BY id", (min(observed),)):
            if run["id"] not in observed and platform not in json.loads(run["platforms"]):
                continue
            entry = observed.get(run["id"]) or {"run_id": run["id"], "service_name": service_name,
                                                "started_at": run["started_at"]}
            entry["seen"] = run["id"] in observed
            entry["events"] = events.get(run["id"], [])
            timeline.append(entry)
        return timeline


def check_usable(path: Path) -> None:
    """Refuse (ConfigError) a file a scan must not make its inventory: one that is not SQLite, another
    application's database, an inventory of a newer scanner. A missing or empty file, or scanner's own inventory,
    passes. Creates and changes nothing, so a run can call it before it probes anything."""
    try:
        if _check_file(path, read_only=False):  # a SQLite file: scanner's own, or refused before it is touched
            probe = _connect_existing(path)
            try:
                _check_schema(path, probe, read_only=False)
            finally:
                probe.close()
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"cannot use the inventory: {exc}", where=str(path),
                          hint="point --inventory (or SCANNER_INVENTORY) at a writable file") from None


def _not_ours(path: Path, what: str, *, read_only: bool, empty: bool = False) -> ConfigError:
    if empty:
        hint = "run `scanner scan` first, or point --inventory / SCANNER_INVENTORY at an existing one"
    elif read_only:
        hint = "point --inventory / SCANNER_INVENTORY at one `scanner scan` made"
    else:
        hint = "scanner changes only its own: point --inventory (or SCANNER_INVENTORY) at it, or at a new file"
    return ConfigError(f"not a scanner inventory: {what}", where=str(path), hint=hint)


def _check_file(path: Path, *, read_only: bool) -> bool:
    """Look at the file before SQLite opens it: True when it is a SQLite database (its schema is checked next),
    False when nothing is there yet (missing or zero bytes; a scan starts a new inventory there). Anything else,
    and for a view (``read_only``) a file with nothing in it, is refused."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        if not read_only:
            return False
        raise ConfigError("no inventory yet: run `scanner scan` first", where=str(path),
                          hint="or point --inventory / SCANNER_INVENTORY at an existing one") from None
    except OSError as exc:
        raise ConfigError(f"cannot use the inventory: {exc.strerror}", where=str(path),
                          hint="point --inventory (or SCANNER_INVENTORY) at a file") from None
    if not head:
        if not read_only:
            return False
        raise _not_ours(path, "the file is empty", read_only=True, empty=True)
    if head != SQLITE_HEADER:
        raise _not_ours(path, "it is not a SQLite database", read_only=read_only)
    return True


def _connect_existing(path: Path) -> sqlite3.Connection:
    """A connection to an existing file that never creates it and cannot write to it (``query_only``)."""
    uri = Path(os.path.abspath(path)).as_uri() + "?mode=rw"  # mode=rw: fails rather than create a missing file
    db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA query_only=ON")
    return db


def _check_schema(path: Path, db: sqlite3.Connection, *, read_only: bool) -> bool:
    """True when the database holds scanner's schema (``user_version`` 1 or later, which every scanner has set,
    and scanner's tables), False when it holds nothing at all (a scan starts its inventory there). Anything else,
    and for a view (``read_only``) an empty database, is refused."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    objects = [(kind, name) for kind, name in db.execute("SELECT type, name FROM sqlite_master")
               if not name.startswith("sqlite_")]
    tables = sorted(name for kind, name in objects if kind == "table")
    if version >= 1 and OWN_TABLES.issubset(tables):
        if version > SCHEMA_VERSION:
            raise ConfigError(f"inventory schema {version} is newer than this scanner ({SCHEMA_VERSION})",
                              where=str(path), hint="upgrade scanner, or point --inventory elsewhere")
        return True
    if not objects and not version and not db.execute("PRAGMA application_id").fetchone()[0]:
        if not read_only:
            return False
        raise _not_ours(path, "the database is empty", read_only=True, empty=True)
    if tables:
        shown = ", ".join(repr(name[:40]) for name in tables[:3]) + (f" and {len(tables) - 3} more"
                                                                      if len(tables) > 3 else "")
        raise _not_ours(path, f"it holds other tables ({shown}) and no scanner schema", read_only=read_only)
    raise _not_ours(path, "it holds no scanner schema", read_only=read_only)


def _publish_whole(path: Path, text: str) -> None:
    """Create ``path`` holding ``text``, all or nothing: FileExistsError when it already exists. Written to a
    private temporary file first and hard-linked into place; where the file system has no hard links, the
    file is created exclusively and written (a reader may then briefly see it short, and retries)."""
    tmp_path = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp_path, path)
            return
        except FileExistsError:
            raise
        except OSError:
            pass
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp_path)


def _read_key(key_path: Path, attempts: int = 20) -> bytes:
    for attempt in range(attempts):
        try:
            key = bytes.fromhex(key_path.read_text().strip())
        except ValueError:
            key = b""
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise ConfigError(f"cannot read the inventory key: {exc.strerror}", where=str(key_path)) from None
        if len(key) >= 16 or attempt == attempts - 1:
            break
        time.sleep(0.05)  # a run on a file system without hard links may be writing it right now
    if len(key) < 16:
        raise ConfigError("the inventory key is damaged", where=str(key_path),
                          hint="delete it: a new key is made, and every config is reported changed once")
    return key


def _merged_pipeline(db: sqlite3.Connection, name: str, new: dict[str, Any]) -> dict[str, Any]:
    """This run's view of the pipeline, keeping the last trigger an earlier run recorded when this one made none."""
    row = db.execute("SELECT pipeline FROM targets WHERE service_name=?", (name,)).fetchone()
    try:
        old = json.loads(row[0]) if row and row[0] else {}
    except ValueError:
        old = {}
    merged = dict(new)
    if not merged.get("last_trigger_at") and old.get("name") == merged.get("name"):
        for key in ("last_trigger_at", "last_run_id", "last_state"):
            if old.get(key) is not None:
                merged[key] = old[key]
    return merged


def _known(row: sqlite3.Row) -> Known:
    return Known(row["service_name"], row["platform"], row["url"], row["status"], row["version"],
                 row["config_hash"], row["state"], row["missing_runs"])


def _decoded(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    for key in keys:
        if isinstance(row.get(key), str):
            row[key] = json.loads(row[key])
    return row
