"""The case-field catalogue is the one place a field is described: every other place derives
from it, and a new field needs nothing but its entry and its migration."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import LargeBinary

from app.cases import fields
from app.cases.models import Case
from app.cases.schemas import CaseFields, CaseListItem, CaseOut
from app.cases.search import _CANDIDATE_COLUMNS
from app.crypto.ciphertext import Encrypted
from app.policy.permissions import FIELD_VISIBILITY, Role, Visibility
from app.referrals.rules import SHAREABLE_FIELDS

ROOT = Path(__file__).resolve().parents[2]


def test_names_are_unique_and_classes_complete() -> None:
    assert len(fields.CASE_FIELDS) == len(set(fields.CASE_FIELDS))
    assert set(fields.CASE_FIELDS) == set(fields.PLAIN_FIELDS) | set(fields.ENCRYPTED_FIELDS)
    for f in fields.CATALOGUE:
        assert not (f.encrypted and (f.reportable or f.listed)), f"{f.name} would leak"
        assert f.exposure is fields.Exposure.PERSONAL or not f.encrypted, f.name


def test_the_model_holds_one_ciphertext_column_per_encrypted_field() -> None:
    encrypted = {c.name for c in Case.__table__.columns if isinstance(c.type, Encrypted)}
    assert encrypted == set(fields.ENCRYPTED_FIELDS)
    for name in fields.PLAIN_FIELDS:
        column = Case.__table__.columns[fields.BY_NAME[name].attribute]
        assert not isinstance(column.type, Encrypted | LargeBinary), name


def test_schemas_lists_policy_and_referrals_derive_from_the_catalogue() -> None:
    writable = {f.name for f in fields.CATALOGUE if f.writable}
    assert set(CaseFields.model_fields) == writable
    assert set(CaseOut.model_fields) == set(fields.CASE_FIELDS)
    assert set(CaseListItem.model_fields) == {f.name for f in fields.CATALOGUE if f.listed}
    assert set(SHAREABLE_FIELDS) == {f.name for f in fields.CATALOGUE if f.shareable}
    for role in Role:
        assert set(FIELD_VISIBILITY[role]) == set(fields.CASE_FIELDS), role
    loaded = {c.key for c in _CANDIDATE_COLUMNS}
    assert {fields.BY_NAME[n].attribute for n in fields.INDEXED_FIELDS} <= loaded
    assert not {n for n in fields.ENCRYPTED_FIELDS if n not in fields.INDEXED_FIELDS} & loaded


def test_a_personal_field_is_hidden_from_everyone_but_the_case_team() -> None:
    for name in fields.ENCRYPTED_FIELDS:
        for role in (Role.VOLUNTEER, Role.ADMIN, Role.AUDITOR):
            assert FIELD_VISIBILITY[role][name] is Visibility.HIDDEN, (role, name)


NEW_FIELD = '    _field("shelter_address", v.Short, E, PERS, shareable=True),\n'
MIGRATION = '''
"""test: one new encrypted case field"""

import sqlalchemy as sa
from alembic import op

import app.crypto.ciphertext

revision = "9999_shelter_address"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(
            sa.Column("shelter_address", app.crypto.ciphertext.Encrypted(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("shelter_address")
'''
# Runs in the copy: a caseworker records the new field, and it is read, shown, hidden,
# listed, referred and exported as the catalogue says, and encrypted at rest.
SCRIPT = """
import secrets, sys
from datetime import UTC, datetime
from pathlib import Path

import app
assert app.__file__.startswith(sys.argv[1]), app.__file__  # the copy, not the checkout
from fastapi.testclient import TestClient
from app.config import Environment, Settings
from app.crypto.keyring import Keyring
from app.db import make_engine, make_sessionmaker, transaction
from app.main import create_app
from app.migrate import upgrade
from app.policy.permissions import Role
from app.security.clock import FrozenClock
from tests.factories import auth, bearer, make_partner, make_team, make_user

tmp = Path(sys.argv[1])
url = f"sqlite:///{tmp / 'haven.db'}"
upgrade(url)
settings = Settings(env=Environment.TEST, database_url=url, blob_dir=tmp / "blobs",
                    key_file=tmp / "root.key", movement_purge_poll_seconds=0)
keyring = Keyring()
keyring.unseal_with_root(secrets.token_bytes(32))
clock = FrozenClock()
engine = make_engine(url)
factory = make_sessionmaker(engine)
with transaction(factory) as db:
    db.info["keyring"] = keyring
    team = make_team(db)
    worker = make_user(db, Role.CASEWORKER, teams=[team], keyring=keyring)
    coordinator = make_user(db, Role.COORDINATOR, teams=[team], keyring=keyring)
    volunteer = make_user(db, Role.VOLUNTEER, teams=[team], keyring=keyring)
    partner, _key = make_partner(db)
    tokens = {r: bearer(db, u, clock=clock, settings=settings)
              for r, u in (("w", worker), ("c", coordinator), ("v", volunteer))}
client = TestClient(create_app(settings, engine=engine, session_factory=factory,
                               keyring=keyring, clock=clock))
canary = "Canary-Shelter-Lane-4471"
given = datetime.now(UTC).isoformat()
consents = [{"purpose": "store", "legal_basis": "consent", "given_at": given},
            {"purpose": "share_with_partner", "partner": str(partner.id),
             "legal_basis": "consent", "given_at": given}]
r = client.post("/api/v1/cases", json={"shelter_address": canary, "consents": consents},
                headers=auth(tokens["w"]))
assert r.status_code == 201, r.text
case = r.json()
assert case["shelter_address"] == canary, case
read = client.get(f"/api/v1/cases/{case['id']}", headers=auth(tokens["w"])).json()
assert read["shelter_address"] == canary
listed = client.get("/api/v1/cases", headers=auth(tokens["c"])).json()["items"]
assert listed and "shelter_address" not in listed[0]
assert client.get(f"/api/v1/cases/{case['id']}", headers=auth(tokens["v"])).status_code == 403
r = client.post(f"/api/v1/cases/{case['id']}/referrals", headers=auth(tokens["w"]),
                json={"partner_id": str(partner.id), "fields": ["shelter_address"]})
assert r.status_code == 201, r.text
r = client.post(f"/api/v1/cases/{case['id']}/referrals", headers=auth(tokens["w"]),
                json={"partner_id": str(partner.id), "fields": ["vetting"]})
assert r.status_code == 422, r.text  # not shareable: the catalogue says so
export = client.get(f"/api/v1/cases/{case['id']}/export", headers=auth(tokens["c"])).json()
assert export["case"]["shelter_address"] == canary
history = client.get(f"/api/v1/cases/{case['id']}/history", headers=auth(tokens["w"]))
history = history.json()["items"]
assert "shelter_address" in history[-1]["fields"]
engine.dispose()
raw = b"".join(p.read_bytes() for p in tmp.glob("haven.db*"))
assert canary.encode() not in raw, "the new field is stored in plaintext"
print("new field followed everywhere")
"""


@pytest.mark.slow
def test_a_new_field_needs_only_its_catalogue_entry_and_migration(tmp_path: Path) -> None:
    copy = tmp_path / "haven"
    shutil.copytree(ROOT / "app", copy / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "migrations", copy / "migrations")
    shutil.copy(ROOT / "alembic.ini", copy / "alembic.ini")
    shutil.copytree(ROOT / "templates", copy / "templates")
    catalogue = copy / "app" / "cases" / "fields.py"
    text = catalogue.read_text()
    anchor = '    _field("vetting",'
    assert anchor in text
    catalogue.write_text(text.replace(anchor, NEW_FIELD + anchor, 1))
    versions = copy / "migrations" / "versions"
    head = _head(copy)
    (versions / "9999_shelter_address.py").write_text(MIGRATION.format(head=head))
    env = {**os.environ, "PYTHONPATH": f"{copy}{os.pathsep}{ROOT}"}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), str(copy)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "new field followed everywhere" in done.stdout


def _head(copy: Path) -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config(str(copy / "alembic.ini"))
    cfg.set_main_option("script_location", str(copy / "migrations"))
    heads = ScriptDirectory.from_config(cfg).get_heads()
    assert len(heads) == 1, heads
    return heads[0]


def test_every_field_and_vocabulary_value_has_a_label() -> None:
    from app.cases import labels, vocab

    assert set(labels.FIELDS) == set(fields.CASE_FIELDS)
    pairs = [
        (labels.STAGES, vocab.Stage),
        (labels.RISK_LEVELS, vocab.RiskLevel),
        (labels.SITUATIONS, vocab.Situation),
        (labels.NEEDS, vocab.Need),
        (labels.SERVICE_STATUSES, vocab.ServiceStatus),
        (labels.WANTED_STATUSES, vocab.WantedStatus),
        (labels.DOCUMENT_TYPES, vocab.DocumentType),
        (labels.VETTING_STATUSES, vocab.VettingStatus),
        (labels.CONSENT_PURPOSES, vocab.ConsentPurpose),
        (labels.LEGAL_BASES, vocab.LegalBasis),
        (labels.CONTACT_CHANNELS, vocab.ContactChannel),
    ]
    for table, enum in pairs:
        assert set(table) == set(enum), enum.__name__
    assert labels.label(labels.STAGES, "intake") is labels.STAGES[vocab.Stage.INTAKE]
    assert labels.label(labels.STAGES, "unknown-value") == "unknown-value"
