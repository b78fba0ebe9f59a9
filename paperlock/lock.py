"""Data locks: freeze a validated dataset as a normalised copy plus a manifest, and refuse data that moved.

A lock lives in `<study>/data/locks/<lock id>/` (`cohort.csv`, the normalised copy, and `manifest.json`); the
study's current lock is the manifest at `data.lock` in study.yaml (default `data/lock.json`). The lock id is
derived from the content (normalised data + dictionary), so locking the same data twice gives the same id.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from paperlock.atomic import atomic_write_bytes, atomic_write_text
from paperlock.errors import PaperlockError
from paperlock.provenance import sha256_file
from paperlock.spec import LoadedSpec

DEFAULT_MANIFEST = "data/lock.json"
LOCKS_DIR = "data/locks"
MANIFEST_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileRef(_Model):
    path: str
    sha256: str


class SourceRef(FileRef):
    format: str
    description: str


class Manifest(_Model):
    manifest_version: int = MANIFEST_VERSION
    lock_id: str
    locked_at: str
    source: SourceRef
    normalised: FileRef
    rows: int
    columns: list[str]
    dictionary: FileRef | None
    spec_sha256: str


def manifest_path(loaded: LoadedSpec) -> Path:
    return loaded.resolve(loaded.spec.data.lock or DEFAULT_MANIFEST)


def relative(loaded: LoadedSpec, path: Path) -> str:
    try:
        return Path(path).resolve().relative_to(loaded.root).as_posix()
    except ValueError:
        return str(Path(path).resolve())


def normalised_csv(frame: pd.DataFrame) -> bytes:
    """The normalised copy: UTF-8, comma-separated, minimal quoting, '\\n' line ends, blank = missing."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(list(frame.columns))
    for row in frame.itertuples(index=False):
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue().encode("utf-8")


def lock_id_for(data_sha: str, dictionary_sha: str | None) -> str:
    return "lock-" + hashlib.sha256(f"{data_sha}\n{dictionary_sha or '-'}".encode()).hexdigest()[:12]


def create_lock(loaded: LoadedSpec) -> tuple[Manifest, bool]:
    """Validate the study's cohort and freeze it; returns the manifest and whether the lock is new.

    Raises `ValidationFailed` (nothing written) when the data have any problem."""
    from paperlock.validate import load_validated

    _refuse_package_source(loaded)
    source = loaded.resolve(loaded.spec.data.cohort)
    outcome = load_validated(loaded, source)
    assert outcome.frame is not None
    data = normalised_csv(outcome.frame)
    data_sha = hashlib.sha256(data).hexdigest()
    dictionary = outcome.dictionary
    dict_ref = FileRef(path=relative(loaded, dictionary.path), sha256=dictionary.sha256) if dictionary else None
    lock_id = lock_id_for(data_sha, dictionary.sha256 if dictionary else None)
    lock_dir = loaded.root / LOCKS_DIR / lock_id
    copy = lock_dir / "cohort.csv"
    existing = lock_dir / "manifest.json"
    rel_source = relative(loaded, source)
    if existing.is_file():
        manifest = read_manifest(existing)
        is_new = False
    else:
        manifest = Manifest(
            lock_id=lock_id,
            locked_at=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            source=SourceRef(path=rel_source, sha256=sha256_file(source), format=outcome.table.format,
                             description=outcome.table.description.replace(outcome.table.name, rel_source)),
            normalised=FileRef(path=relative(loaded, copy), sha256=data_sha),
            rows=len(outcome.frame), columns=list(outcome.frame.columns), dictionary=dict_ref,
            spec_sha256=loaded.sha256)
        is_new = True
    if manifest.source.sha256 != sha256_file(source):
        # same content, re-exported bytes (e.g. another line ending): record the new source file
        manifest = manifest.model_copy(update={"source": manifest.source.model_copy(
            update={"sha256": sha256_file(source), "description": outcome.table.description})})
    atomic_write_bytes(copy, data)
    text = json.dumps(manifest.model_dump(mode="json"), indent=1, sort_keys=True) + "\n"
    atomic_write_text(existing, text)
    atomic_write_text(manifest_path(loaded), text)
    return manifest, is_new


def _refuse_package_source(loaded: LoadedSpec) -> None:
    if loaded.spec.data.cohort.startswith("package:"):
        raise PaperlockError(f"data.cohort {loaded.spec.data.cohort!r}: data locks apply to cohort files; write the "
                             "package's cohort to a file and name that file in study.yaml")


def read_manifest(path: Path) -> Manifest:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        return Manifest.model_validate(doc)
    except FileNotFoundError:
        raise PaperlockError(f"{path}: lock manifest not found; create it with `paperlock lock`") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PaperlockError(f"{path}: not a valid lock manifest ({exc})") from None
    except ValidationError as exc:
        raise PaperlockError(f"{path}: not a valid lock manifest ({exc.error_count()} problems: "
                             f"{exc.errors()[0]['loc']}: {exc.errors()[0]['msg']})") from None


def relock_hint(loaded: LoadedSpec) -> str:
    study = "" if loaded.root == Path.cwd().resolve() else f" --study {loaded.root}"
    return (f"If the change is intended, check the data with `paperlock validate{study}` and re-lock with "
            f"`paperlock lock{study}` (or `make lock`); `paperlock diff` then lists the numbers that move. "
            "Otherwise restore the locked data")


def check_lock(loaded: LoadedSpec) -> Manifest | None:
    """The study's lock when study.yaml declares one, after checking that data and dictionary still match it."""
    if not loaded.spec.data.lock:
        return None
    _refuse_package_source(loaded)
    path = manifest_path(loaded)
    if not path.is_file():
        raise PaperlockError(f"{relative(loaded, path)}: study.yaml declares this data lock but it does not "
                             "exist; create it with `paperlock lock` (or `make lock`)")
    manifest = read_manifest(path)
    source = loaded.resolve(loaded.spec.data.cohort)
    if manifest.source.path != relative(loaded, source):
        raise PaperlockError(f"lock {manifest.lock_id} is for {manifest.source.path}, but study.yaml reads "
                             f"{relative(loaded, source)}. {relock_hint(loaded)}.")
    if not source.is_file():
        raise PaperlockError(f"{relative(loaded, source)}: cohort file not found (locked as {manifest.lock_id})")
    now = sha256_file(source)
    if now != manifest.source.sha256:
        raise PaperlockError(
            f"{relative(loaded, source)} no longer matches data lock {manifest.lock_id} "
            f"(sha256 {now[:12]}… now, {manifest.source.sha256[:12]}… when locked). {relock_hint(loaded)} "
            f"(its normalised copy is {manifest.normalised.path}).")
    dictionary = loaded.spec.data.dictionary
    if manifest.dictionary is not None and dictionary:
        dpath = loaded.resolve(dictionary)
        dnow = sha256_file(dpath) if dpath.is_file() else "(missing)"
        if dnow != manifest.dictionary.sha256:
            raise PaperlockError(f"{relative(loaded, dpath)} (the data dictionary) changed since data lock "
                                 f"{manifest.lock_id}. {relock_hint(loaded)}.")
    return manifest


def find_lock(loaded: LoadedSpec, ref: str) -> Manifest:
    """A lock named by id, by its folder, or by a manifest path."""
    candidates = [Path(ref), loaded.root / ref, loaded.root / LOCKS_DIR / ref]
    for c in candidates:
        if c.is_dir() and (c / "manifest.json").is_file():
            return read_manifest(c / "manifest.json")
        if c.is_file() and c.suffix == ".json":
            return read_manifest(c)
    known = sorted(p.name for p in (loaded.root / LOCKS_DIR).glob("lock-*") if p.is_dir())
    raise PaperlockError(f"no data lock {ref!r} (known locks: {', '.join(known) or 'none'})")


def locked_copy(loaded: LoadedSpec, manifest: Manifest) -> Path:
    """The lock's normalised copy, checked against its recorded hash."""
    path = loaded.resolve(manifest.normalised.path)
    if not path.is_file():
        raise PaperlockError(f"{manifest.normalised.path}: the normalised copy of lock {manifest.lock_id} is missing")
    if sha256_file(path) != manifest.normalised.sha256:
        raise PaperlockError(f"{manifest.normalised.path}: the normalised copy of lock {manifest.lock_id} was "
                             "modified after locking; a lock must not change")
    return path
