"""Benchmark datasets: N synthetic cases with their history, tasks, documents metadata and
audit entries, made fast and cached between runs.

    .venv/bin/python -m bench.dataset --backend sqlite|postgresql --cases N [--rebuild]

`ensure(backend, cases)` returns a `Dataset` (what `haven serve` needs to run against it,
the accounts to sign in with, cases to read and names to search), building it only when
no dataset of that size was built by this generator against this schema (the cache key is
the Alembic head, the field catalogue app/cases/fields.py and this file).

Real data, not look-alikes: every value is written by the services' own functions, only
batched. Per case, a data key of its own wrapped under the current KEK (envelope.wrap_dek,
as create_data_key does); the fields set through app/cases/record.write (the envelope
encryption the case service uses); blind indexes from record.index_values; revisions
encrypted like the case service's `_revision`; deadlines as app/cases/deadlines keeps them;
task texts and document metadata encrypted like the tasks and documents services; audit
entries encoded by app/audit/canonical and given their positions in the Merkle tree with
the same leaf hash and frontier as app/audit/tree.append_leaves, then a signed checkpoint.
Teams, accounts and the keyring are made through the services themselves. Worker processes
do the crypto (both cores); the parent assigns audit positions and inserts in batches
(sqlite3 executemany, PostgreSQL COPY). Proportions: see PROPORTIONS and bench/README.md.

Synthetic people only: names are drawn from Faker's lists and the demo's invented
Belarusian names; contacts are messenger handles ending in `_demo`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import random
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, Uuid, create_engine, func, select, text
from sqlalchemy.engine import Dialect, Engine, make_url

from app import planner
from app.audit.canonical import encode_body, entry_leaf
from app.audit.checkpoints import take_checkpoint
from app.audit.events import AuditAction
from app.audit.merkle import frontier_append, pack_frontier, unpack_frontier
from app.audit.tree import HEAD_ID, sequence_now
from app.cases import record as rec
from app.cases import service as cases
from app.cases.deadlines import DeadlineKind
from app.cases.fields import CASE_FIELDS, ENCRYPTED_FIELDS, INDEXED_FIELDS
from app.cases.models import Case, CaseDeadline, CaseIndex, CaseRevision, StageChange
from app.config import SealMode
from app.crypto import aead
from app.crypto.ciphertext import Ciphertext, Encrypted
from app.crypto.envelope import OpenDataKey, encrypt_json, wrap_dek
from app.crypto.keyring import Keyring, create_dev_key_file, read_dev_key_file
from app.crypto.keystore import current_kek_version, initialise_keyring
from app.crypto.models import DataKey
from app.db import make_engine, make_sessionmaker, transaction
from app.demo import people as demo_people
from app.documents.models import Document
from app.documents.service import META_FIELD, META_NAMES
from app.migrate import ROOT, alembic_config, upgrade
from app.policy.permissions import Role, redact
from app.reports import counts as report_counts
from app.tasks.models import Task
from app.users import service as users
from app.users.models import Team

DEFAULT_ROOT = Path("bench/.data")
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DOMAIN = "bench.haven.invalid"  # reserved (RFC 2606): no mail can go there
ORIGIN = "bench.haven.invalid/audit"
SEED = 20261206
ROLES = ("coordinator", "caseworker", "volunteer", "auditor", "admin")

# Who works on the cases: eight teams of different sizes (the benchmark's coordinator leads
# the largest, so its lists hold a quarter of the cases), each with a coordinator, six
# caseworkers and three volunteers.
TEAM_WEIGHTS = (8, 6, 5, 4, 3, 2, 2, 1)
CASEWORKERS = 6
VOLUNTEERS = 3
MONTHS = 18  # cases are spread over the last 18 months
CHUNK = 1000  # cases per worker task and per insert batch
SCHEMA_EVERY = 50  # the case schema checks every 50th generated person (see Maker._case)


@dataclass(frozen=True)
class Proportions:
    """How much of each thing a case brings (expected values are in bench/README.md)."""

    # Share of cases by stage, by the case's age: recent cases are still open, old ones
    # mostly closed (the stock of a service that closes what it opens).
    new_days: int = 14
    mid_days: int = 90
    new: tuple[float, float, float, float] = (0.60, 0.30, 0.05, 0.05)
    mid: tuple[float, float, float, float] = (0.10, 0.35, 0.30, 0.25)
    old: tuple[float, float, float, float] = (0.02, 0.05, 0.08, 0.85)
    unassigned_intake: float = 1 / 3  # of intake cases: not yet given to a caseworker
    task: float = 0.4  # of cases past intake: one volunteer task
    documents: tuple[float, ...] = (0.4, 0.3, 0.2, 0.1)  # P(0, 1, 2, 3 documents) past intake
    reads: tuple[float, ...] = (0.3, 0.4, 0.2, 0.1)  # P(0, 1, 2, 3 audited reads) per case


PROPORTIONS = Proportions()
STAGES = ("intake", "documentation", "referral", "closed")


@dataclass(frozen=True)
class Account:
    """An account the load runner signs in with (POST /api/v1/auth/token)."""

    email: str
    password: str
    totp_secret: str | None


@dataclass(frozen=True)
class Dataset:
    """A built dataset and what a runner needs to use it."""

    backend: str  # "sqlite" | "postgresql"
    cases: int
    env: dict[str, str]  # HAVEN_* variables for `haven serve` against this data
    accounts: dict[str, Account]  # by role: coordinator, caseworker, volunteer, auditor, admin
    sample_case_ids: list[str]  # cases the coordinator can read (and some the caseworker can)
    search_names: list[str]  # names present in the data, for name search
    duplicate_probe: dict[str, Any]  # a body for the duplicate check


# --- the cache ------------------------------------------------------------------------


def alembic_head() -> str:
    """The migrations' head revision (one head, or the sorted heads joined)."""
    from alembic.script import ScriptDirectory

    return "+".join(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))


def cache_key() -> str:
    """What a dataset depends on: the schema, the field catalogue and this generator."""
    digest = hashlib.sha256(alembic_head().encode())
    for path in (ROOT / "app/cases/fields.py", Path(__file__).resolve()):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def database_name(cases: int, root: Path = DEFAULT_ROOT) -> str:
    """The PostgreSQL database of a dataset size (never the shared `test` database); a
    root other than the default (a test's) gets databases of its own."""
    if root.resolve() == DEFAULT_ROOT.resolve():
        return f"bench_{cases}"
    return f"bench_{cases}_{hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:8]}"


def _pg_url(name: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _paths(backend: str, cases: int, root: Path) -> dict[str, Path]:
    home = (root / f"{backend}-{cases}").resolve()
    return {
        "home": home,
        "manifest": home / "manifest.json",
        "key": home / "dev-root.key",
        "blobs": home / "blobs",
        "db": home / "haven.db",
        "pg": Path(database_name(cases, root)),
    }


def _url(backend: str, cases: int, paths: dict[str, Path]) -> str:
    if backend == "sqlite":
        return f"sqlite:///{paths['db']}"
    return _pg_url(str(paths["pg"]))


def _env(backend: str, cases: int, paths: dict[str, Path]) -> dict[str, str]:
    return {
        "HAVEN_ENV": "development",
        "HAVEN_DATABASE_URL": _url(backend, cases, paths),
        "HAVEN_BLOB_DIR": str(paths["blobs"]),
        "HAVEN_SEAL_MODE": "dev",
        "HAVEN_KEY_FILE": str(paths["key"]),
        "HAVEN_SECURE_COOKIES": "0",
        "HAVEN_AUDIT_ORIGIN": ORIGIN,
    }


def _cached(backend: str, cases: int, paths: dict[str, Path], key: str) -> Dataset | None:
    """The dataset recorded in the manifest, if it is this generator's and still there."""
    try:
        manifest = json.loads(paths["manifest"].read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("key") != key or manifest.get("cases") != cases:
        return None
    try:
        engine = create_engine(_url(backend, cases, paths))
        try:
            with engine.connect() as conn:
                found = conn.execute(text("SELECT count(*) FROM cases")).scalar_one()
        finally:
            engine.dispose()
    except Exception:  # noqa: BLE001 - a missing file or database is simply not cached
        return None
    if found != manifest["total_cases"]:
        return None
    return _dataset(manifest)


def _dataset(m: dict[str, Any]) -> Dataset:
    return Dataset(
        backend=m["backend"],
        cases=m["cases"],
        env=m["env"],
        accounts={role: Account(**a) for role, a in m["accounts"].items()},
        sample_case_ids=m["sample_case_ids"],
        search_names=m["search_names"],
        duplicate_probe=m["duplicate_probe"],
    )


def ensure(
    backend: str, cases: int, root: Path = DEFAULT_ROOT, *, rebuild: bool = False
) -> Dataset:
    """The dataset of `cases` cases on `backend`, built unless a current one is cached."""
    if backend not in ("sqlite", "postgresql"):
        raise ValueError("backend must be sqlite or postgresql")
    if cases < 1:
        raise ValueError("cases must be at least 1")
    paths = _paths(backend, cases, root)
    key = cache_key()
    if not rebuild:
        found = _cached(backend, cases, paths, key)
        if found is not None:
            return found
    return _build(backend, cases, paths, key)


# --- invented people ----------------------------------------------------------------------


class People:
    """Invented people like app/demo/people.py makes them, drawing names from Faker's lists
    once (calling Faker per person is the slow part of `haven demo`)."""

    def __init__(self, rng: random.Random) -> None:
        from faker import Faker

        self.rng = rng
        self.parts: dict[str, tuple[tuple[str, ...], ...]] = {}
        for country, locale in (("RU", "ru_RU"), ("UA", "uk_UA")):
            fake = Faker(locale)
            fake.seed_instance(SEED)
            self.parts[country] = tuple(
                tuple(sorted({getter() for _ in range(3000)}))
                for getter in (fake.last_name_male, fake.first_name_male, fake.middle_name_male)
            )
        self.parts["BY"] = (
            demo_people.BELARUSIAN_LAST,
            demo_people.BELARUSIAN_FIRST,
            demo_people.BELARUSIAN_PATRONYMIC,
        )

    def person(self, today: date) -> dict[str, Any]:
        """The intake fields of one invented person (as PeopleMaker.person)."""
        r = self.rng
        citizenship = r.choices(("RU", "BY", "UA"), weights=(6, 3, 1))[0]
        last, first_names, middle = self.parts[citizenship]
        name = f"{r.choice(last)} {r.choice(first_names)} {r.choice(middle)}"
        spelled = demo_people.latin(name, citizenship)
        first = "".join(ch for ch in spelled.split()[1].lower() if "a" <= ch <= "z") or "demo"
        country = r.choice(demo_people.COUNTRIES_NOW)
        born = today - timedelta(days=r.randint(19 * 365, 52 * 365))
        channel = r.choice(("telegram", "signal"))
        handle = f"{first}_{r.randint(1000, 99999)}_demo"
        if channel == "signal":
            handle += f".{r.randint(10, 99)}"
        return {
            "legal_name": name,
            "aliases": [spelled],
            "date_of_birth": born.isoformat(),
            "citizenship": citizenship,
            "current_country": country,
            "current_city": demo_people.CITIES[country],
            "languages": ["ru", *demo_people.LANGUAGE[citizenship]],
            "situation": r.choice(demo_people.SITUATIONS),
            "service_status": r.choice(demo_people.SERVICE),
            "contacts": [{"channel": channel, "value": handle}],
            "criminal_case": {
                "article": r.choice(demo_people.ARTICLES[citizenship]),
                "status": "opened",
                "notes": None,
            },
            "intake_notes": r.choice(demo_people.NOTES),
        }


# --- the plan a worker follows ------------------------------------------------------------


@dataclass(frozen=True)
class TeamCast:
    """A team's people, by id."""

    team_id: uuid.UUID
    coordinator: uuid.UUID
    caseworkers: tuple[uuid.UUID, ...]
    volunteers: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class Plan:
    """Everything a worker needs to make any chunk of cases (picklable)."""

    url: str
    backend: str
    cases: int
    root_key: bytes
    kek_version: int
    start: datetime
    end: datetime
    teams: tuple[TeamCast, ...]
    proportions: Proportions = PROPORTIONS


# Tables and the columns the generator writes, in the order rows are made.
COLUMNS: dict[str, tuple[str, ...]] = {
    "data_keys": ("id", "owner_id", "kek_version", "wrapped", "created_at"),
    "cases": (
        "id", "case_code", "team_id", "assigned_to", "stage", "risk_level", "created_at",
        "updated_at", "version", "dek_id", "source", "citizenship", "current_country",
        "situation", "needs", "outcome_kind", "closed_at", "legal_hold",
        "erasure_decision_due", *ENCRYPTED_FIELDS,
    ),
    "case_indexes": ("case_id", "field", "value"),
    "case_revisions": ("id", "case_id", "version", "actor_id", "at", "fields", "changes"),
    "case_stage_changes": ("id", "case_id", "actor_id", "at", "from_stage", "to_stage"),
    "case_deadlines": ("case_id", "on", "kind"),
    "tasks": (
        "id", "case_id", "assigned_to", "status", "due", "title", "instructions", "place",
        "created_by", "created_at", "updated_at",
    ),
    "documents": ("id", "case_id", "blob_id", "meta", "size", "uploaded_by", "uploaded_at"),
}  # fmt: skip
TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        DataKey.__table__, Case.__table__, CaseIndex.__table__, CaseRevision.__table__,
        StageChange.__table__, CaseDeadline.__table__, Task.__table__, Document.__table__,
    )
}  # fmt: skip


Binder = Callable[[Any], Any]


Binder = Callable[[Any], Any]


def _processors(dialect: Dialect) -> dict[str, list[tuple[int, Binder]]]:
    """Per table, the columns whose values need converting for the DBAPI and how: the
    bind processor SQLAlchemy itself applies (so every value is stored exactly as the ORM
    would store it: UUIDs, times, JSON, ciphertexts), remembered per UUID (a case id recurs
    in every row of the case), and bytes where SQLite's binary processor gives a memoryview
    (rows travel between processes)."""
    out: dict[str, list[tuple[int, Binder]]] = {}
    for name, columns in COLUMNS.items():
        table = TABLES[name]
        out[name] = []
        for i, c in enumerate(columns):
            col_type = table.c[c].type
            processor = col_type.dialect_impl(dialect).bind_processor(dialect)
            if isinstance(col_type, Encrypted):  # what its processor gives, without a view
                processor = _ciphertext_bytes
            if processor is not None:
                out[name].append((i, _binder(processor, memo=isinstance(col_type, Uuid))))
    return out


def _ciphertext_bytes(value: Ciphertext) -> bytes:
    return value.data


def _binder(processor: Binder, *, memo: bool) -> Binder:
    seen: dict[Any, Any] = {}

    def bind(value: Any) -> Any:
        if value is None:
            return None
        if memo:
            got = seen.get(value)
            if got is None:
                if len(seen) > 100_000:
                    seen.clear()
                got = seen[value] = processor(value)
            return got
        out = processor(value)
        return bytes(out) if isinstance(out, memoryview) else out

    return bind


def _bound(row: tuple[Any, ...], binders: list[tuple[int, Binder]]) -> tuple[Any, ...]:
    values = list(row)
    for i, bind in binders:
        values[i] = bind(values[i])
    return tuple(values)


class _Row:
    """A plain object the record module writes fields onto (it only uses setattr)."""


class _CachedKeyring(Keyring):
    """The keyring with its purpose keys derived once (blind indexes derive per call)."""

    def __init__(self) -> None:
        super().__init__()
        self._derived: dict[tuple[str, int], bytes] = {}

    def derive(self, purpose: str, length: int = 32) -> bytes:
        """As Keyring.derive, remembered for the worker's life."""
        got = self._derived.get((purpose, length))
        if got is None:
            got = self._derived[(purpose, length)] = super().derive(purpose, length)
        return got


CODE_SPACE = 32**6
CODE_STEP = 0x2545F491  # odd: n -> n * CODE_STEP mod 32**6 is a bijection, so codes never clash
TASK_TEXTS = (
    ("Meet at the railway station", "Thursday 14:00 under the big clock. Bring a SIM card."),
    ("Buy a bus ticket", "One ticket for Saturday morning; hand it over at the café."),
    ("Accompany to the lawyer", "Office on the 3rd floor, room 12, at 10:30. Wait outside."),
    ("Bring warm clothes", "A jacket (size L) and boots (43) to the shelter reception."),
)
TASK_PLACES = ("Tbilisi, central station", "Vilnius, bus station", "Astana, city centre")
DOCUMENT_NAMES = ("povestka.pdf", "voennyi-bilet.pdf", "asylum-receipt.pdf", "passport.jpg")


def case_code(n: int, at: datetime) -> str:
    """Case n's code, in the service's format (HV-<year>-<6 Crockford characters>)."""
    from app.cases.codes import ALPHABET

    value = (n * CODE_STEP + 12345) % CODE_SPACE
    tail = "".join(ALPHABET[(value >> (5 * i)) & 31] for i in range(6))
    return f"HV-{at.year:04d}-{tail}"


def _shown(role: Role) -> list[str]:
    return sorted(redact(role, dict.fromkeys(CASE_FIELDS, "x")))


SHOWN = {Role.COORDINATOR: _shown(Role.COORDINATOR), Role.CASEWORKER: _shown(Role.CASEWORKER)}


def _remember_pure_functions() -> None:
    """In a worker process only: the record module's name folding and blind index, which
    return the same value for the same input, remembered (names are drawn from lists, so
    the same words recur across a million cases). The values are those functions' own."""
    import functools

    from app.crypto import blind_index, normalize

    rec.fold_token = functools.lru_cache(maxsize=200_000)(normalize.fold_token)  # type: ignore[assignment]
    rec.blind_index = functools.lru_cache(maxsize=200_000)(blind_index.blind_index)  # type: ignore[assignment]


class Maker:
    """Makes chunks of cases in a worker process: rows per table and audit bodies."""

    def __init__(self, plan: Plan) -> None:
        _remember_pure_functions()
        self.plan = plan
        self.keyring = _CachedKeyring()
        self.keyring.unseal_with_root(plan.root_key)
        engine = make_engine(plan.url)
        try:
            with make_sessionmaker(engine)() as session:
                self.kek = self.keyring.kek(session, plan.kek_version)
        finally:
            engine.dispose()
        self.processors = _processors(engine.dialect)
        self.people = People(random.Random(SEED))
        weights = TEAM_WEIGHTS[: len(plan.teams)]
        self.team_weights = [w / sum(weights) for w in weights]

    def chunk(self, first: int, stop: int) -> dict[str, Any]:
        """Rows for cases first..stop-1 (deterministic: a chunk's seed is its first case)."""
        rng = random.Random(SEED * 1_000_003 + first)
        self.people.rng = rng
        rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in COLUMNS}
        audit: list[str] = []
        for n in range(first, stop):
            self._case(n, rng, rows, audit)
        out: dict[str, Any] = {"audit": audit}
        for name, table_rows in rows.items():
            procs = self.processors[name]
            out[name] = [_bound(row, procs) for row in table_rows] if procs else table_rows
        return out

    def _stage(self, rng: random.Random, age: timedelta) -> str:
        p = self.plan.proportions
        days = age.days
        weights = p.new if days < p.new_days else p.mid if days < p.mid_days else p.old
        return rng.choices(STAGES, weights=weights)[0]

    def _case(  # noqa: PLR0915 - one case's whole life, step by step
        self, n: int, rng: random.Random, rows: dict[str, list[tuple[Any, ...]]], audit: list[str]
    ) -> None:
        plan, p = self.plan, self.plan.proportions
        span = plan.end - plan.start
        created = plan.start + span * ((n + rng.random()) / plan.cases)
        team = plan.teams[rng.choices(range(len(plan.teams)), weights=self.team_weights)[0]]
        stage = self._stage(rng, plan.end - created)
        worker = rng.choice(team.caseworkers)
        assigned = None if stage == "intake" and rng.random() < p.unassigned_intake else worker
        case_id, key_id = _new_id(rng), _new_id(rng)
        # Events happen in order between intake and now (at most four months later).
        horizon = min((plan.end - created).total_seconds(), 120 * 86400) * 0.999
        times = sorted(created + timedelta(seconds=rng.uniform(0, horizon)) for _ in range(10))
        tick = iter(times)

        raw = aead.new_key()
        wrapped = wrap_dek(
            self.kek, dek=raw, key_id=key_id, owner_id=case_id, version=plan.kek_version
        )
        rows["data_keys"].append((key_id, case_id, plan.kek_version, wrapped, created))
        dek = OpenDataKey(
            key_id=key_id, owner_id=case_id, cipher=aead.aesgcm(raw), keyring=self.keyring
        )
        case = _Row()
        case_fields: dict[str, Any] = {}
        version = 0
        who_role = {worker: Role.CASEWORKER, team.coordinator: Role.COORDINATOR}

        def entry(at: datetime, action: AuditAction, by: uuid.UUID | None, **kw: Any) -> None:
            role = str(who_role[by]) if by is not None else None
            audit.append(
                encode_body(at=at, action=action.value, actor_id=by, actor_role=role, **kw)
            )

        def revision(at: datetime, by: uuid.UUID | None, changes: dict[str, Any]) -> None:
            nonlocal version
            version += 1
            rev_id = _new_id(rng)
            ct = encrypt_json(dek, field=rec.REVISION_FIELD, value=changes, row_id=rev_id)
            rows["case_revisions"].append((rev_id, case_id, version, by, at, sorted(changes), ct))

        def change(at: datetime, by: uuid.UUID | None, values: dict[str, Any]) -> None:
            """Create (first call) or update: fields, revision, audit, as the service does."""
            old = dict(case_fields)
            case_fields.update(values)
            names = sorted(k for k, v in values.items() if v not in (None, []))
            revision(at, by, {k: {"old": old.get(k), "new": values[k]} for k in names})
            action = AuditAction.CASE_UPDATED if old else AuditAction.CASE_CREATED
            entry(at, action, by, object_type="case", object_id=str(case_id), fields=names)

        moves: list[tuple[datetime, str, str]] = []

        def move(at: datetime, to: str) -> None:
            current = moves[-1][2] if moves else "intake"
            moves.append((at, current, to))
            rows["case_stage_changes"].append((_new_id(rng), case_id, worker, at, current, to))
            revision(at, worker, {"stage": {"old": current, "new": to}})
            entry(
                at, AuditAction.CASE_TRANSITIONED, worker, object_type="case",
                object_id=str(case_id), fields=["stage"], reason_code=f"{current}->{to}",
            )  # fmt: skip

        # Intake: the person's fields, as the case schema gives them back. People are made
        # in that form already (tests/bench/test_dataset.py), so the schema checks every
        # SCHEMA_EVERY-th of them here (a dict that comes back changed stops the build),
        # not all: validating each was a tenth of a worker's time.
        person = self.people.person(created.date())
        if n % SCHEMA_EVERY == 0 and cases.validate_fields(person) != person:
            raise RuntimeError("the generator made a person the case schema changes")
        change(created, assigned, person)
        rows["case_stage_changes"].append(
            (_new_id(rng), case_id, assigned, created, None, "intake")
        )
        if stage != "intake":
            at = next(tick)
            facts: dict[str, Any] = {
                "risk_level": rng.choice(("low", "medium", "high", "critical")),
                "consents": [
                    {"purpose": "store", "legal_basis": "consent", "given_at": at.isoformat()}
                ],
                "needs": [rng.choice(("legal", "asylum", "shelter", "documents"))],
            }
            if stage != "closed":  # hearings and deadlines ahead, for the board
                facts["protection"] = {
                    "asylum_country": rng.choice(("DE", "LT", "GE", "FR")),
                    "hearings": [{"on": _day(plan.end, rng.randint(1, 21))}],
                    "deadlines": [
                        {
                            "on": _day(plan.end, rng.randint(3, 30)),
                            "what": "Submit the documents to the lawyer",
                        }
                    ],
                }
            change(at, worker, cases.validate_fields(facts))
            move(next(tick), "documentation")
            via_referral = stage == "referral" or (stage == "closed" and rng.random() < 0.5)
            if via_referral:
                move(next(tick), "referral")
            if stage == "closed":
                at = next(tick)
                ending = {
                    "outcome": "Reached a safe country; asylum claim lodged.",
                    "closing_note": "Closed at the person's request after the referral.",
                    "outcome_kind": rng.choice(
                        ("protection_granted", "safe_relocation", "referred_elsewhere")
                    ),
                }
                change(at, worker, ending)
                move(next(tick), "closed")
            if rng.random() < p.task:
                self._task(
                    rng=rng, rows=rows, dek=dek, case_id=case_id, team=team, at=next(tick),
                    closed=stage == "closed",
                )  # fmt: skip
                entry(
                    rows["tasks"][-1][9], AuditAction.TASK_CREATED, team.coordinator,
                    object_type="task", object_id=str(rows["tasks"][-1][0]),
                    fields=["case_id", "assigned_to", "title", "instructions", "place", "due"],
                )  # fmt: skip
            for _ in range(rng.choices(range(len(p.documents)), weights=p.documents)[0]):
                at = next(tick)
                doc_id = self._document(
                    rng=rng, rows=rows, dek=dek, case_id=case_id, by=worker, at=at
                )
                entry(at, AuditAction.DOCUMENT_UPLOADED, worker, object_type="case",
                      object_id=str(case_id), fields=["file", *META_NAMES],
                      reason_code=f"document:{doc_id}")  # fmt: skip
        for _ in range(rng.choices(range(len(p.reads)), weights=p.reads)[0]):
            reader = rng.choice((worker, team.coordinator)) if assigned else team.coordinator
            role = who_role[reader]
            entry(rng.choice(times), AuditAction.CASE_READ, reader, object_type="case",
                  object_id=str(case_id), fields=SHOWN[role])  # fmt: skip

        # The case row: its fields written by the record module, as the service writes them.
        rec.write(case, dek, case_fields)  # type: ignore[arg-type]
        # The plaintext dates beside the protection steps, as deadlines.rewrite keeps them
        # (its DELETE of a new case's dates would find none).
        for kind, key in ((DeadlineKind.HEARING, "hearings"), (DeadlineKind.DEADLINE, "deadlines")):
            for item in (case_fields.get("protection") or {}).get(key) or []:
                rows["case_deadlines"].append((case_id, date.fromisoformat(item["on"]), kind.value))
        for fld, value in sorted(rec.index_values(self.keyring, case_fields)):
            rows["case_indexes"].append((case_id, fld, value))
        last = moves[-1][0] if moves else created
        rows["cases"].append(
            (
                case_id, case_code(n, created), team.team_id, assigned, moves[-1][2] if moves
                else "intake", case_fields.get("risk_level"), created, last, version, key_id,
                "staff", case_fields["citizenship"], case_fields["current_country"],
                case_fields.get("situation"), case_fields.get("needs") or [],
                case_fields.get("outcome_kind"), last if stage == "closed" else None, False,
                False, *(getattr(case, name, None) for name in ENCRYPTED_FIELDS),
            )
        )  # fmt: skip

    def _task(
        self,
        *,
        rng: random.Random,
        rows: dict[str, list[tuple[Any, ...]]],
        dek: OpenDataKey,
        case_id: uuid.UUID,
        team: TeamCast,
        at: datetime,
        closed: bool,
    ) -> None:
        """A volunteer task, its texts encrypted as the tasks service does (_set_text)."""
        from app.tasks import service as tasks

        title, instructions = rng.choice(TASK_TEXTS)
        task = _Row()
        task.id = _new_id(rng)  # type: ignore[attr-defined]
        for name, value in (("title", title), ("instructions", instructions),
                            ("place", rng.choice(TASK_PLACES))):  # fmt: skip
            tasks._set_text(task, dek, name, value)  # type: ignore[arg-type]
        status = "done" if closed else rng.choice(("open", "open", "accepted"))
        due = at + timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 8))
        rows["tasks"].append(
            (task.id, case_id, rng.choice(team.volunteers), status, due, task.title,  # type: ignore[attr-defined]
             task.instructions, task.place, team.coordinator, at, at)  # type: ignore[attr-defined]
        )  # fmt: skip

    def _document(
        self,
        *,
        rng: random.Random,
        rows: dict[str, list[tuple[Any, ...]]],
        dek: OpenDataKey,
        case_id: uuid.UUID,
        by: uuid.UUID,
        at: datetime,
    ) -> uuid.UUID:
        """A document's row: metadata encrypted and bound to the row as record_upload does
        (the blob itself is not written: see bench/README.md)."""
        doc_id, blob_id = _new_id(rng), _new_id(rng)
        name = rng.choice(DOCUMENT_NAMES)
        kind = "image/jpeg" if name.endswith(".jpg") else "application/pdf"
        meta = {"name": name, "content_type": kind, "sha256": rng.randbytes(32).hex()}
        ct = encrypt_json(dek, field=META_FIELD, value=meta, row_id=doc_id)
        rows["documents"].append(
            (doc_id, case_id, blob_id, ct, rng.randint(40_000, 4_000_000), by, at)
        )
        return doc_id


def _new_id(rng: random.Random) -> uuid.UUID:
    """A random (version 4) UUID from the chunk's generator: as random as uuid4 for this
    purpose, without a system call per id."""
    return uuid.UUID(bytes=rng.randbytes(16), version=4)


def _day(start: datetime, days: int) -> str:
    return (start + timedelta(days=days)).date().isoformat()


# --- building -----------------------------------------------------------------------------

_MAKER: Maker | None = None


def _init_worker(plan: Plan) -> None:
    global _MAKER  # noqa: PLW0603 - one maker per worker process
    _MAKER = Maker(plan)


def _make_chunk(bounds: tuple[int, int]) -> dict[str, Any]:
    assert _MAKER is not None  # noqa: S101 - set by the pool's initializer
    return _MAKER.chunk(*bounds)


def _reset(backend: str, cases: int, paths: dict[str, Path]) -> str:
    """An empty, migrated database for the dataset, and a clean home for its files."""
    home = paths["home"]
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True, mode=0o700)
    if backend == "postgresql":
        name = str(paths["pg"])
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
    url = _url(backend, cases, paths)
    upgrade(url)
    return url


@dataclass
class Cast:
    """The accounts made by the setup: the bench's five, and every team's people."""

    teams: list[TeamCast] = field(default_factory=list)
    accounts: dict[str, Account] = field(default_factory=dict)
    ids: dict[str, uuid.UUID] = field(default_factory=dict)


def _setup(url: str, paths: dict[str, Path]) -> tuple[bytes, int, Cast]:
    """Keyring (dev mode, key file beside the data), teams and accounts, through the
    services (their audit entries are the first of the log). Only the five accounts the
    runner signs in with get the production password hashing; the other staff accounts
    never sign in, so their hashes use cheap parameters."""
    from app.security import passwords

    cheap = passwords.HashParams(time_cost=1, memory_cost_kib=8, parallelism=1)
    create_dev_key_file(paths["key"])
    root = read_dev_key_file(paths["key"])
    engine = make_engine(url)
    keyring = Keyring()
    cast = Cast()
    now = datetime.now(UTC)
    try:
        with transaction(make_sessionmaker(engine)) as db:
            initialise_keyring(db, keyring=keyring, mode=SealMode.DEV, root=root)
            kek_version = current_kek_version(db, keyring)
            passwords.use_params(passwords.DEFAULT_PARAMS)
            bench = {
                role: _bench_account(
                    db, keyring=keyring, cast=cast, role=role, now=now, team="Bench team 1"
                )
                for role in ROLES
            }
            passwords.use_params(cheap)

            def make(local: str, role: Role, team: str) -> uuid.UUID:
                made = users.create_user(
                    db, email=f"{local}@{DOMAIN}", role=role, teams=[team], keyring=keyring,
                    name=local.replace("-", " ").title(), one_time=False,
                )  # fmt: skip
                return made.user.id

            for i in range(len(TEAM_WEIGHTS)):
                team, first = f"Bench team {i + 1}", i == 0
                coordinator = (
                    bench["coordinator"]
                    if first
                    else make(f"coordinator-{i + 1}", Role.COORDINATOR, team)
                )
                workers = [bench["caseworker"]] if first else []
                workers += [
                    make(f"caseworker-{i + 1}-{j + 1}", Role.CASEWORKER, team)
                    for j in range(len(workers), CASEWORKERS)
                ]
                volunteers = [bench["volunteer"]] if first else []
                volunteers += [
                    make(f"volunteer-{i + 1}-{j + 1}", Role.VOLUNTEER, team)
                    for j in range(len(volunteers), VOLUNTEERS)
                ]
                cast.teams.append(
                    TeamCast(_team_id(db, team), coordinator, tuple(workers), tuple(volunteers))
                )
        # Their entries committed pending: the sequencer gives them their positions now,
        # so the bulk entries continue the tree after them.
        sequence_now(make_sessionmaker(engine))
    finally:
        passwords.use_params(passwords.DEFAULT_PARAMS)
        engine.dispose()
    return root, kek_version, cast


def _team_id(db: Any, name: str) -> uuid.UUID:
    return db.scalars(select(Team.id).where(Team.name == name)).one()


def _bench_account(
    db: Any, *, keyring: Keyring, cast: Cast, role: str, now: datetime, team: str
) -> uuid.UUID:
    """One of the five accounts the runner signs in with (the team roles in the first
    team). Every role but the volunteer's must use TOTP; it is enrolled (as confirming the
    authenticator would), so a sign-in needs the code its secret gives. The volunteer has
    not enrolled (optional for volunteers), so signs in with the password alone."""
    in_team = role in ("coordinator", "caseworker", "volunteer")
    made = users.create_user(
        db, email=f"{role}@{DOMAIN}", role=Role(role), teams=[team] if in_team else [],
        keyring=keyring, name=f"Bench {role}", one_time=False,
    )  # fmt: skip
    enrolled = role != "volunteer"
    if enrolled:
        made.user.totp_enrolled_at = now
        db.flush()
    assert made.password is not None  # noqa: S101 - Haven chose it
    cast.accounts[role] = Account(
        email=made.user.email,
        password=made.password,
        totp_secret=made.totp_secret if enrolled else None,
    )
    cast.ids[role] = made.user.id
    return made.user.id


class Writer:
    """Inserts a chunk's rows: sqlite3 executemany in one transaction per chunk, or
    PostgreSQL COPY; and the audit entries with their leaves, continuing the tree."""

    def __init__(self, engine: Engine) -> None:
        self.sqlite = engine.dialect.name == "sqlite"
        self.raw = engine.raw_connection()
        self.cur = self.raw.cursor()
        if self.sqlite:
            # A dataset that failed half-way is rebuilt, so the load needs no durability;
            # rows are consistent by construction, so no foreign-key lookups per row.
            for pragma in (
                "synchronous=OFF", "cache_size=-400000", "temp_store=MEMORY", "foreign_keys=OFF",
            ):  # fmt: skip
                self.cur.execute(f"PRAGMA {pragma}")
            self.backend_pid = os.getpid()  # SQLite works in this process
        else:
            self.cur.execute("SELECT pg_backend_pid()")
            self.backend_pid = int(self.cur.fetchone()[0])
            self.cur.execute("SET session_replication_role = replica")  # no FK triggers
            self.cur.execute("SET maintenance_work_mem = '256MB'")
            self.raw.commit()
        self.indexes = self._drop_indexes()
        self.cur.execute(f"SELECT size, frontier FROM audit_head WHERE id = {HEAD_ID}")  # noqa: S608
        size, packed = self.cur.fetchone()
        self.size = int(size)
        self.frontier = unpack_frontier(bytes(packed), self.size)
        self.cur.execute("SELECT coalesce(max(id), 0) FROM audit_entries")
        self.next_id = int(self.cur.fetchone()[0]) + 1
        self.audit_entries = 0

    def write(self, chunk: dict[str, Any]) -> None:
        """One chunk, committed."""
        entries, leaves = [], []
        for body in chunk["audit"]:
            leaf = entry_leaf(self.size, self.next_id, body)
            frontier_append(self.frontier, self.size, leaf)
            entries.append((self.next_id, body))
            leaves.append((self.size, self.next_id, leaf))
            self.size += 1
            self.next_id += 1
        self.audit_entries += len(entries)
        tables = [(name, COLUMNS[name], chunk[name]) for name in COLUMNS]
        tables += [
            ("audit_entries", ("id", "body"), entries),
            ("audit_leaves", ("seq", "entry_id", "leaf_hash"), leaves),
        ]
        if self.sqlite:
            self.cur.execute("BEGIN")
        for name, columns, rows in tables:
            if not rows:
                continue
            names = ", ".join(f'"{c}"' for c in columns)
            if self.sqlite:
                marks = ", ".join("?" for _ in columns)
                insert = f"INSERT INTO {name} ({names}) VALUES ({marks})"  # noqa: S608 - constants
                self.cur.executemany(insert, rows)
            else:
                with self.cur.copy(f"COPY {name} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        self._head()
        if self.sqlite:
            self.cur.execute("COMMIT")
        else:
            self.raw.commit()

    def _head(self) -> None:
        """The head row moves with every chunk: the tree is whole after each commit."""
        mark = "?" if self.sqlite else "%s"
        now = datetime.now(UTC)
        stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else now
        self.cur.execute(
            f"UPDATE audit_head SET size = {mark}, frontier = {mark}, updated_at = {mark} "  # noqa: S608
            f"WHERE id = {HEAD_ID}",
            (self.size, pack_frontier(self.frontier), stamp),
        )

    def _drop_indexes(self) -> list[str]:
        """Drop the loaded tables' secondary indexes (building each once at the end is much
        cheaper than growing it row by row); returns their DDL, as the database keeps it,
        to recreate them exactly (constraints' indexes stay)."""
        tables = [*COLUMNS, "audit_entries", "audit_leaves"]
        if self.sqlite:
            marks = ", ".join("?" for _ in tables)
            where = f"type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})"
            query = f"SELECT name, sql FROM sqlite_master WHERE {where}"  # noqa: S608
            self.cur.execute(query, tables)
        else:
            self.cur.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = "
                "current_schema() AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM "
                "pg_constraint c WHERE c.conindid = quote_ident(i.indexname)::regclass)",
                (tables,),
            )
        found = [(str(name), str(ddl)) for name, ddl in self.cur.fetchall()]
        for name, _ddl in found:
            self.cur.execute(f'DROP INDEX "{name}"')
        self.raw.commit()
        return [ddl for _name, ddl in found]

    def restore_indexes(self) -> None:
        """Build the dropped indexes again from their own DDL."""
        for ddl in self.indexes:
            self.cur.execute(ddl)
            self.raw.commit()
        self.indexes = []

    def close(self) -> None:
        """Set the entry id sequence past the ids given here (PostgreSQL), and let go."""
        if not self.sqlite:
            self.cur.execute(
                "SELECT setval(pg_get_serial_sequence('audit_entries', 'id'), %s)",
                (self.next_id - 1,),
            )
            self.raw.commit()
        self.cur.close()
        self.raw.close()


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process on this machine has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class LoadReport:
    """What the load wrote and the CPU seconds each part used (the machine is shared:
    the CPU time says what the load costs whatever else runs)."""

    audit_entries: int = 0
    cpu: dict[str, float] = field(default_factory=dict)


def _load(plan: Plan, engine: Engine, workers: int, report: Callable[[int], None]) -> LoadReport:
    """Make the cases in worker processes and write them as they come, in order."""
    import resource

    def used(who: int) -> float:
        r = resource.getrusage(who)
        return r.ru_utime + r.ru_stime

    start_self, start_children = used(resource.RUSAGE_SELF), used(resource.RUSAGE_CHILDREN)
    bounds = [(i, min(i + CHUNK, plan.cases)) for i in range(0, plan.cases, CHUNK)]
    writer = Writer(engine)
    start_db = _cpu_seconds(writer.backend_pid) if not writer.sqlite else 0.0
    done = 0
    try:
        ctx = mp.get_context("spawn")
        with ctx.Pool(workers, initializer=_init_worker, initargs=(plan,)) as pool:
            pending: list[Any] = []
            todo = iter(bounds)
            for b in todo:
                pending.append((b, pool.apply_async(_make_chunk, (b,))))
                if len(pending) >= 2 * workers:
                    break
            while pending:
                b, result = pending.pop(0)
                chunk = result.get()
                nxt = next(todo, None)
                if nxt is not None:
                    pending.append((nxt, pool.apply_async(_make_chunk, (nxt,))))
                writer.write(chunk)
                done += b[1] - b[0]
                report(done)
            pool.close()
            pool.join()
        cpu = {"workers": used(resource.RUSAGE_CHILDREN) - start_children}
        loaded = used(resource.RUSAGE_SELF)
        cpu["parent"] = loaded - start_self
        if not writer.sqlite:
            cpu["database"] = _cpu_seconds(writer.backend_pid) - start_db
        writer.restore_indexes()
        cpu["indexes"] = (
            used(resource.RUSAGE_SELF) - loaded
            if writer.sqlite
            else _cpu_seconds(writer.backend_pid) - start_db - cpu["database"]
        )
    finally:
        writer.close()
    return LoadReport(writer.audit_entries, {k: round(v, 1) for k, v in cpu.items()})


def _finish(engine: Engine, root: bytes) -> dict[str, float]:
    """A signed checkpoint of the whole log, the report counts, and planner statistics (a
    live database has them from autovacuum; a bulk-loaded one does not yet). Returns each
    step's wall time in seconds."""
    took: dict[str, float] = {}
    keyring = Keyring()
    keyring.unseal_with_root(root)
    began = time.perf_counter()
    with transaction(make_sessionmaker(engine)) as db:
        take_checkpoint(db, keyring=keyring, origin=ORIGIN)
    took["checkpoint"] = time.perf_counter() - began
    # The rows went in behind the application's back, so the counts it keeps with every
    # case write (reports, the case list's totals) are built once here, as
    # `haven reports rebuild` does (SQL: every dimension in one statement, then the spells).
    began = time.perf_counter()
    with transaction(make_sessionmaker(engine)) as db:
        report_counts.rebuild(db)
    took["report counts"] = time.perf_counter() - began
    # As a live server keeps them (app/planner.py; autovacuum on PostgreSQL). Until
    # 2026-12-06 this ANALYZE ran in a transaction the engine began and never committed: the
    # SQLite datasets had no statistics.
    began = time.perf_counter()
    if engine.dialect.name == "sqlite":
        planner.analyse(engine)
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    took["statistics"] = time.perf_counter() - began
    return {step: round(seconds, 1) for step, seconds in took.items()}


def _samples(engine: Engine, root: bytes, cast: Cast) -> dict[str, Any]:
    """Cases the runner reads, names it searches and a duplicate probe, read back through
    the record module (so they are known to decrypt)."""
    keyring = Keyring()
    keyring.unseal_with_root(root)
    team = cast.teams[0].team_id
    with transaction(make_sessionmaker(engine)) as db:
        # Codes are a permutation of the case number: ordering by them spreads the sample
        # over the whole period.
        mine = list(
            db.scalars(
                select(Case)
                .where(Case.assigned_to == cast.ids["caseworker"])
                .order_by(Case.case_code)
                .limit(20)
            )
        )
        theirs = list(
            db.scalars(
                select(Case)
                .where(Case.team_id == team, Case.assigned_to != cast.ids["caseworker"])
                .order_by(Case.case_code)
                .limit(180)
            )
        )
        sample = mine + theirs
        names, probe = [], {}
        for case in sample[:60]:
            f = rec.read(case, rec.case_key(db, keyring=keyring, case=case), INDEXED_FIELDS)
            names.append(f["legal_name"])
            if not probe:
                probe = {"legal_name": f["legal_name"], "date_of_birth": f["date_of_birth"]}
        total = db.scalar(select(func.count()).select_from(Case)) or 0
    return {
        "sample_case_ids": [str(c.id) for c in sample],
        "search_names": names,
        "duplicate_probe": probe,
        "total_cases": int(total),
    }


def _build(backend: str, cases: int, paths: dict[str, Path], key: str) -> Dataset:
    """Make the dataset from scratch and record it in its manifest."""
    started = time.perf_counter()
    url = _reset(backend, cases, paths)
    paths["blobs"].mkdir(mode=0o700)
    root, kek_version, cast = _setup(url, paths)
    end = datetime.now(UTC).replace(microsecond=0)
    plan = Plan(
        url=url,
        backend=backend,
        cases=cases,
        root_key=root,
        kek_version=kek_version,
        start=end - timedelta(days=30 * MONTHS),
        end=end,
        teams=tuple(cast.teams),
    )
    engine = make_engine(url)
    loaded = time.perf_counter()
    # Worker processes even for one chunk: they remember pure functions (see Maker).
    workers = 1 if cases <= CHUNK else max(1, min(2, os.cpu_count() or 1))
    try:
        load = _load(plan, engine, workers, _progress(cases, loaded))
        load_seconds = time.perf_counter() - loaded
        finish = _finish(engine, root)
        samples = _samples(engine, root, cast)
    finally:
        engine.dispose()
    seconds = time.perf_counter() - started
    manifest = {
        "key": key,
        "backend": backend,
        "cases": cases,
        "env": _env(backend, cases, paths),
        "accounts": {role: asdict(a) for role, a in cast.accounts.items()},
        **samples,
        "audit_entries": load.audit_entries,
        "cpu_seconds": load.cpu,
        "built_at": end.isoformat(),
        "seconds": round(seconds, 1),
        "load_seconds": round(load_seconds, 1),
        "finish_seconds": finish,
        "cases_per_second": round(cases / load_seconds, 1),
    }
    paths["manifest"].write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    paths["manifest"].chmod(0o600)
    return _dataset(manifest)


def _progress(total: int, started: float) -> Callable[[int], None]:
    last = [0.0]

    def report(done: int) -> None:
        now = time.perf_counter()
        if now - last[0] >= 5 or done == total:
            last[0] = now
            rate = done / max(now - started, 1e-9)
            print(f"  {done:,}/{total:,} cases, {rate:,.0f} cases/s", file=sys.stderr, flush=True)

    return report


def main(argv: Sequence[str] | None = None) -> None:
    """Build (or find cached) one dataset and print what a runner needs, without secrets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--rebuild", action="store_true", help="ignore a cached dataset")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    ds = ensure(args.backend, args.cases, args.root, rebuild=args.rebuild)
    manifest = json.loads(_paths(args.backend, args.cases, args.root)["manifest"].read_text())
    print(
        f"{ds.backend}: {ds.cases:,} cases ready in {time.perf_counter() - started:.1f} s "
        f"(built in {manifest['seconds']} s, loading at {manifest['cases_per_second']:,} "
        f"cases/s; {manifest['audit_entries']:,} audit entries); "
        f"{ds.env['HAVEN_DATABASE_URL']}"
    )
    cpu = manifest.get("cpu_seconds") or {}
    if cpu:
        parts = ", ".join(f"{k} {v:,.1f} s" for k, v in cpu.items())
        print(f"CPU of the load: {parts} ({sum(cpu.values()) / ds.cases * 1000:.2f} ms a case)")
    finish = manifest.get("finish_seconds") or {}
    if finish:
        print("Then: " + ", ".join(f"{k} {v:,.1f} s" for k, v in finish.items()))


def remove(backend: str, cases: int, root: Path = DEFAULT_ROOT) -> None:
    """Delete a dataset: its files and (PostgreSQL) its database."""
    paths = _paths(backend, cases, root)
    if backend == "postgresql":
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{paths["pg"]}" WITH (FORCE)'))
        finally:
            admin.dispose()
    shutil.rmtree(paths["home"], ignore_errors=True)


if __name__ == "__main__":
    main()
