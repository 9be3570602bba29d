"""Encryption-at-rest throughput, all figures from one run on this machine.

    .venv/bin/python bench/crypto_bench.py [--rows 5000] [--seconds 1.0]

Prints raw AES-256-GCM operations per second beside field encrypt/decrypt, DEK rewrap (in
memory and through `rotate()` on a SQLite file), blind indexes and attachment streaming,
and the rewrap/raw ratio (target: at least 10%)."""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from app.config import SealMode
from app.crypto import aead
from app.crypto.blind_index import IndexedField, blind_index
from app.crypto.envelope import (
    OpenDataKey,
    create_data_key,
    decrypt_text,
    encrypt_text,
    open_data_key,
    rewrap_dek,
)
from app.crypto.keyring import Keyring
from app.crypto.keystore import initialise_keyring
from app.crypto.models import DataKey
from app.crypto.rotation import rotate
from app.crypto.stream import StreamEncryptor
from app.db import make_engine, make_sessionmaker, transaction
from app.migrate import upgrade

NAME = "Кирилл Вымышленный-Тестовый"


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of fn, measured over about `seconds`."""
    calls, started = 0, time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(200):
            fn()
        calls += 200
        now = time.perf_counter()
        if now >= deadline:
            return calls / (now - started)


Result = tuple[str, float, str]


def _setup(url: str) -> tuple[sessionmaker[Session], Keyring, OpenDataKey, AESGCM, DataKey]:
    upgrade(url)
    factory = make_sessionmaker(make_engine(url))
    keyring = Keyring()
    with transaction(factory) as s:
        initialise_keyring(s, keyring=keyring, mode=SealMode.DEV, root=secrets.token_bytes(32))
        owner = uuid.uuid4()
        row = create_data_key(s, keyring=keyring, owner_id=owner)
        dek = open_data_key(s, keyring=keyring, key_id=row.id, owner_id=owner)
        kek = keyring.kek(s, row.kek_version)
    probe = DataKey(id=row.id, owner_id=owner, kek_version=row.kek_version, wrapped=row.wrapped)
    return factory, keyring, dek, kek, probe


def _micro(
    keyring: Keyring, dek: OpenDataKey, kek: AESGCM, probe: DataKey, secs: float
) -> list[Result]:
    raw = aead.aesgcm(aead.new_key())
    nonces = [os.urandom(12) for _ in range(256)]
    payload, aad = os.urandom(64), os.urandom(48)
    counter = iter(range(10**12))
    ct = encrypt_text(dek, field="legal_name", value=NAME)
    if probe.wrapped is None:
        raise SystemExit("the probe DEK has no wrapped key")
    wrapped, version = probe.wrapped, probe.kek_version
    ids = probe.id.bytes + probe.owner_id.bytes
    return [
        ("raw AES-256-GCM encrypt (64 B)",
         rate(lambda: raw.encrypt(nonces[next(counter) % 256], payload, aad), secs), "ops/s"),
        ("field encrypt (text)",
         rate(lambda: encrypt_text(dek, field="legal_name", value=NAME), secs), "ops/s"),
        ("field decrypt (text)",
         rate(lambda: decrypt_text(dek, field="legal_name", ciphertext=ct), secs), "ops/s"),
        # Unwrap under the old KEK and wrap under the new one: rotation's inner loop.
        ("DEK rewrap, in memory",
         rate(lambda: rewrap_dek(kek, kek, wrapped=wrapped, ids=ids, from_version=version,
                                 to_version=version), secs), "ops/s"),
        ("blind index (name)",
         rate(lambda: blind_index(keyring, IndexedField.NAME, NAME), secs), "ops/s"),
    ]  # fmt: skip


def _rotation(factory: sessionmaker[Session], keyring: Keyring, rows: int) -> Result:
    with transaction(factory) as s:
        for _ in range(rows):
            create_data_key(s, keyring=keyring, owner_id=uuid.uuid4())
    started = time.perf_counter()
    report = rotate(factory, keyring=keyring, batch_size=500)
    return (f"DEK rewrap via rotate(), SQLite file, {report.rewrapped} rows",
            report.rewrapped / (time.perf_counter() - started), "ops/s")  # fmt: skip


def _stream(dek: OpenDataKey) -> Result:
    body = os.urandom(8 * 1024 * 1024)
    started = time.perf_counter()
    enc = StreamEncryptor(dek, uuid.uuid4())
    for i in range(0, len(body), 256 * 1024):
        enc.update(body[i : i + 256 * 1024])
    enc.finish()
    return (
        "attachment stream encrypt",
        len(body) / (time.perf_counter() - started) / 2**20,
        "MiB/s",
    )


def _print(results: list[Result]) -> None:
    values = {name: value for name, value, _unit in results}
    raw_rate = values["raw AES-256-GCM encrypt (64 B)"]
    table = Table(title="Haven encryption at rest (one run)")
    for column in ("operation", "rate", "unit", "vs raw AES-GCM"):
        table.add_column(column, justify="left" if column == "operation" else "right")
    for name, value, unit in results:
        ratio = f"{value / raw_rate:.1%}" if unit == "ops/s" else ""
        table.add_row(name, f"{value:,.0f}", unit, ratio)
    console = Console(width=120)
    console.print(table)
    ratio = values["DEK rewrap, in memory"] / raw_rate
    verdict = "meets" if ratio >= 0.10 else "MISSES"
    console.print(
        f"DEK rewrap (in memory) is {ratio:.1%} of raw AES-GCM: {verdict} the 10% target."
    )


def main() -> None:
    """Run every measurement in one process and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5000, help="DEKs rotated through SQLite")
    parser.add_argument("--seconds", type=float, default=1.0, help="time per micro-benchmark")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        factory, keyring, dek, kek, probe = _setup(f"sqlite:///{Path(tmp) / 'bench.db'}")
        results = _micro(keyring, dek, kek, probe, args.seconds)
        results.insert(4, _rotation(factory, keyring, args.rows))
        results.append(_stream(dek))
        bind = factory.kw["bind"]
        bind.dispose()
    _print(results)


if __name__ == "__main__":
    main()
