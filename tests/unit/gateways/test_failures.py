"""What a failed task's error code says a retry can change (gateways.md section 10, failure taxonomy)."""

from __future__ import annotations

import pytest

from airflow_provider_seedance.gateways.failures import FailureCause, failure_cause


@pytest.mark.parametrize(
    ("code", "message", "cause"),
    [
        ("OutputVideoSensitiveContentDetected.PolicyViolation", "copyright", FailureCause.OUTPUT_MODERATION),
        ("OutputAudioSensitiveContentDetected.PolicyViolation", None, FailureCause.OUTPUT_MODERATION),
        ("OutputVideoSensitiveContentDetected", None, FailureCause.OUTPUT_MODERATION),
        # "...PrivacyInformation (a real person in the input) never passes by retrying".
        ("InputImageSensitiveContentDetected.PrivacyInformation", None, FailureCause.INPUT_REFUSED),
        ("OutputVideoSensitiveContentDetected.PrivacyInformation", None, FailureCause.INPUT_REFUSED),
        ("InputImageSensitiveContentDetected.PolicyViolation", None, FailureCause.INPUT_REFUSED),
        ("InputTextRiskDetection", None, FailureCause.INPUT_REFUSED),
        ("InvalidParameter.TaskTypeMismatch", None, FailureCause.INVALID_REQUEST),
        ("InvalidParameter", "content[1].image_url ... HTTP 403 while fetching resource", FailureCause.INVALID_REQUEST),
        ("InvalidParameter", "content[1].image_url ... timeout while fetching resource", FailureCause.OTHER),
        ("InternalServiceError", None, FailureCause.OTHER),
        (None, "something broke", FailureCause.OTHER),
    ],
)
def test_failure_causes(code, message, cause):
    assert failure_cause(code, message) is cause
