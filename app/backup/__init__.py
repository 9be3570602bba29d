"""Encrypted logical backups: `haven backup keygen | create | verify | restore`.

A backup is one age file (https://age-encryption.org/v1, X25519 recipients; the `pyrage`
bindings of the Rust `age` crate) holding a framed stream (`app/backup/frames.py`): a header
with the format version and schema revision, every table's rows (the audit log included),
every attachment blob as it is stored (ciphertext under its case's key), and a manifest with
row counts and SHA-256 hashes. See docs/operations.md, "Backups"."""
