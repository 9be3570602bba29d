"""Every kind of event the audit log records."""

from __future__ import annotations

import enum


class AuditAction(enum.StrEnum):
    """Audit actions; values are stable strings stored in the log."""

    SIGN_IN = "auth.sign_in"
    SIGN_IN_FAILED = "auth.sign_in_failed"
    SIGN_OUT = "auth.sign_out"
    TOKEN_ISSUED = "auth.token_issued"
    TOKEN_REVOKED = "auth.token_revoked"
    REAUTH = "auth.reauth"
    TOTP_ENROLLED = "auth.totp_enrolled"
    RECOVERY_CODE_USED = "auth.recovery_code_used"
    RECOVERY_CODES_ISSUED = "auth.recovery_codes_issued"
    PASSWORD_CHANGED = "auth.password_changed"
    PASSWORD_CHANGE_FAILED = "auth.password_change_failed"
    PASSWORD_RESET = "auth.password_reset"
    ACCOUNT_LOCKED = "auth.account_locked"
    ACCOUNT_UNLOCKED = "auth.account_unlocked"
    ACCESS_DENIED = "access.denied"
    BREAK_GLASS = "access.break_glass"
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_ROLE_CHANGED = "user.role_changed"
    USER_TEAMS_CHANGED = "user.teams_changed"
    ACCESS_REQUESTED = "user.access_requested"
    ACCESS_APPROVED = "user.access_approved"
    ACCESS_REJECTED = "user.access_rejected"
    USER_DISABLED = "user.disabled"
    USER_ENABLED = "user.enabled"
    USER_SESSIONS_ENDED = "user.sessions_ended"
    TEAM_CREATED = "team.created"
    CASE_CREATED = "case.created"
    CASE_READ = "case.read"
    CASE_UPDATED = "case.updated"
    CASE_TRANSITIONED = "case.transitioned"
    CASE_ASSIGNED = "case.assigned"
    CASE_SEARCHED = "case.searched"
    # An intake interview kept (encrypted) for its account when the session lapsed, and
    # given back after sign-in: which fields were typed, never what.
    INTERVIEW_KEPT = "case.interview_kept"
    INTERVIEW_RESTORED = "case.interview_restored"
    CASE_HISTORY_READ = "case.history_read"
    CASE_EXPORTED = "case.exported"
    CASE_ERASURE_REQUESTED = "case.erasure_requested"
    CASE_ERASED = "case.erased"
    DOCUMENT_UPLOADED = "document.uploaded"
    DOCUMENT_DOWNLOADED = "document.downloaded"
    DOCUMENT_LISTED = "document.listed"
    # A blob a crash left behind, removed at start (reason: "partial" or "orphan").
    BLOB_SWEPT = "blob.swept"
    REFERRAL_CREATED = "referral.created"
    REFERRAL_UPDATED = "referral.updated"
    REFERRAL_PACKET_READ = "referral.packet_read"
    REFERRAL_LISTED = "referral.listed"
    TASK_CREATED = "task.created"
    TASK_LISTED = "task.listed"
    TASK_UPDATED = "task.updated"
    REQUEST_RECEIVED = "request.received"
    PARTNER_CREATED = "partner.created"
    PARTNER_CONFIRMED = "partner.confirmed"
    SEALED = "sys.sealed"
    UNSEALED = "sys.unsealed"
    UNSEAL_FAILED = "sys.unseal_failed"
    KEY_ROTATED = "sys.key_rotated"
    PASSPHRASE_CHANGED = "sys.passphrase_changed"
    ROOT_ROTATED = "sys.root_rotated"
    BACKUP_CREATED = "sys.backup_created"
    BACKUP_RESTORED = "sys.backup_restored"
    RETENTION_PURGED = "sys.retention_purged"
    AUDIT_CHECKPOINT = "audit.checkpoint"
    AUDIT_VERIFIED = "audit.verified"
    AUDIT_READ = "audit.read"
    AUDIT_EXPORTED = "audit.exported"
    REPORT_READ = "report.read"
    REPORT_EXPORTED = "report.exported"
    REPORT_COUNTS_REBUILT = "sys.report_counts_rebuilt"


class DuplicateCheck(enum.StrEnum):
    """How a duplicate check (action `case.searched`) is marked, so the alerts can find a
    burst of them or hits outside the caller's scope (app/audit/service.py)."""

    # The reason code of a check, and of one refused by its throttle.
    REASON = "duplicates"
    THROTTLED = "duplicates_throttled"
    # The outcome of a check that matched a case outside the caller's scope.
    OUTSIDE_SCOPE = "outside_scope"
