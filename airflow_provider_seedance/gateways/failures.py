"""Why a generation failed, by what a retry can change (issue 12's failure policy).

The codes are the upstream's (Ark); resellers that report a failed task mostly pass them on. Content
moderation of the *output* can fail at random on identical input, so another seed may pass; moderation of
the *input*, a real person in the input and an invalid request fail the same way every time (gateways.md
section 10, "Failure taxonomy").
"""

from __future__ import annotations

import enum


class FailureCause(enum.StrEnum):
    OUTPUT_MODERATION = "output_moderation"  # another seed may pass
    INPUT_REFUSED = "input_refused"  # moderation of an input, or a real person in it: never passes by retrying
    INVALID_REQUEST = "invalid_request"  # the gateway accepted the request, then found it unusable
    OTHER = "other"  # anything else: a retry may help


def failure_cause(code: str | None, message: str | None = None) -> FailureCause:
    """The cause of a failed task from its error code (and message, for fetch timeouts)."""
    code = code or ""
    if "PrivacyInformation" in code:
        return FailureCause.INPUT_REFUSED
    if code.startswith("Output") and "SensitiveContentDetected" in code:
        return FailureCause.OUTPUT_MODERATION
    if code.startswith("Input"):
        return FailureCause.INPUT_REFUSED
    if code.startswith(("InvalidParameter", "MissingParameter")):
        # "timeout while fetching resource": the input may be reachable next time.
        return FailureCause.OTHER if "timeout while fetching" in (message or "") else FailureCause.INVALID_REQUEST
    return FailureCause.OTHER
