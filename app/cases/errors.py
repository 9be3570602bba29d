"""Case errors, as values with a code (docs/style.md rule 9)."""

from __future__ import annotations

from app.errors import Conflict, HavenError


class StaleVersion(Conflict):
    """409: the case changed since the caller read it; names the fields changed since."""

    code = "stale_version"
    message = "The case changed since you read it; reload and apply your change again."


class ConsentDropped(Conflict):
    """409: a whole consents list would drop (or revive) a recorded consent; `consent_ids`
    names them. A consent ends by its withdrawal, which stays on the record."""

    code = "consent_dropped"
    message = (
        "A recorded consent cannot be removed or revived: send the list with every consent, "
        "or withdraw one on its own (POST .../consents/{id}/withdraw)."
    )


class VettingRequired(Conflict):
    """409: a request from the public form goes to a caseworker only once it is judged
    (genuine or suspicious): an unchecked one may be a trap laid to find the network."""

    code = "vetting_required"
    message = "Judge the request first (genuine or suspicious), then assign it."


class StageGateFailed(Conflict):
    """409: the stage gate refused; `missing` lists what must be recorded first."""

    code = "stage_gate_failed"
    message = "The case cannot move to that stage yet."


class TransitionNotAllowed(Conflict):
    """409: no such move from the current stage (or not for this role)."""

    code = "transition_not_allowed"
    message = "That stage cannot be reached from the current one."


class SearchTooBroad(HavenError):
    """422: the personal terms make too many candidates to confirm; add a term or filter."""

    status, code = 422, "search_too_broad"
    message = "The terms match too many cases to check; add another term or a filter."


class CaseDamaged(HavenError):
    """500: a field that authorises something is not what the case's history recorded (an
    older ciphertext put back in the database); nothing is decided on it."""

    status, code = 500, "case_damaged"
    message = "The case record failed an integrity check; an administrator must look at it."
