"""OpenAPI documentation of the governance API's bodies.

The views in ``api.py`` read and build plain dicts (the services validate); these serializers only
describe those shapes for drf-spectacular and are never used to parse or render. Fields named
like a ``Field`` attribute (``required``, ``label``) are fine at run time (the serializer metaclass
moves declared fields off the class), hence their ``type: ignore``.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers

from adapters.exchange.types import ORD_TYPES, SIDES, TIFS
from deltatrace.api.serializers import DetailSerializer
from ledger.api import InclusionProofSerializer

REFUSED = OpenApiResponse(DetailSerializer, description="a rule refused the request")
FORBIDDEN = OpenApiResponse(DetailSerializer, description="your role may not do this")
NOT_FOUND = OpenApiResponse(DetailSerializer, description="no such trigger")


class PolicySerializer(serializers.Serializer):
    kind = serializers.CharField()
    required = serializers.IntegerField(help_text="m: approvals needed")  # type: ignore[assignment]
    group = serializers.CharField(help_text="role of the approvers")
    four_eyes = serializers.BooleanField(help_text="the proposer never counts")
    expiry_seconds = serializers.IntegerField()
    action = serializers.CharField()


class PolicyListSerializer(serializers.Serializer):
    results = PolicySerializer(many=True)


class TriggerSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    summary = serializers.CharField()
    digest = serializers.CharField(help_text="SHA-256 of the canonical content, hex")
    status = serializers.CharField(help_text="pending, executed, rejected, expired")
    proposer = serializers.CharField()
    incident = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    created = serializers.DateTimeField()
    expires = serializers.DateTimeField()
    approvals = serializers.IntegerField(help_text="distinct counting approvers")
    rejections = serializers.IntegerField()
    required = serializers.IntegerField()  # type: ignore[assignment]
    eligible = serializers.IntegerField(help_text="n: approvers of the group who may count")


class TriggerListSerializer(serializers.Serializer):
    results = TriggerSummarySerializer(many=True)


class CheckpointRefSerializer(serializers.Serializer):
    tree_size = serializers.IntegerField()
    root_hash = serializers.CharField(help_text="hex")


class ApprovalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user = serializers.CharField()
    key_id = serializers.CharField()
    decision = serializers.CharField(help_text="approve or reject")
    statement = serializers.CharField(help_text="the exact RFC 8785 bytes that were signed")
    signature = serializers.CharField(help_text="Ed25519 signature, base64")
    tree_size = serializers.IntegerField()
    root_hash = serializers.CharField()
    time = serializers.IntegerField(help_text="ms since the epoch, as signed")
    ledger_index = serializers.IntegerField(allow_null=True)
    inclusion_proof = InclusionProofSerializer(allow_null=True)


class TriggerSerializer(TriggerSummarySerializer):
    content = serializers.JSONField()
    canonical = serializers.CharField(help_text="RFC 8785 bytes of the content")
    content_matches_digest = serializers.BooleanField()
    policy = PolicySerializer(allow_null=True)
    proposed_index = serializers.IntegerField(allow_null=True)
    executed_index = serializers.IntegerField(allow_null=True)
    result = serializers.JSONField(allow_null=True)
    checkpoint = CheckpointRefSerializer()
    signatures = ApprovalSerializer(many=True)


class ProposeSerializer(serializers.Serializer):
    kind = serializers.CharField()
    params = serializers.JSONField(required=False)
    reason = serializers.CharField()
    incident = serializers.CharField(required=False, help_text="incident id or name")
    evidence = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="'capture_id:seq' refs"
    )


@extend_schema_field(OpenApiTypes.OBJECT)
class StatementField(serializers.JSONField):
    """The statement object (or its JSON text) the approver signed."""


class ApproveSerializer(serializers.Serializer):
    statement = StatementField(
        help_text="{trigger_digest, decision, key_id, tree_size, root_hash, time}"
    )
    signature = serializers.CharField(help_text="Ed25519 signature of the RFC 8785 bytes, base64")


class ApprovalCreatedSerializer(serializers.Serializer):
    approval = ApprovalSerializer()
    trigger = TriggerSummarySerializer()


class ApproverKeySerializer(serializers.Serializer):
    key_id = serializers.CharField()
    algorithm = serializers.CharField()
    public_key = serializers.CharField(help_text="raw Ed25519 public key, base64")
    user = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    created = serializers.DateTimeField()
    revoked = serializers.DateTimeField(allow_null=True)
    registered_index = serializers.IntegerField(allow_null=True)
    revoked_index = serializers.IntegerField(allow_null=True)


class ApproverKeyListSerializer(serializers.Serializer):
    results = ApproverKeySerializer(many=True)


class RegisterKeySerializer(serializers.Serializer):
    public_key = serializers.CharField(help_text="raw Ed25519 public key, base64")
    label = serializers.CharField(required=False)  # type: ignore[assignment]


class RevokeKeySerializer(serializers.Serializer):
    reason = serializers.CharField(required=False)


class SandboxOrderSerializer(serializers.Serializer):
    symbol = serializers.CharField(max_length=50)
    side = serializers.ChoiceField(choices=SIDES)
    qty = serializers.IntegerField(min_value=1)
    type = serializers.ChoiceField(choices=ORD_TYPES, default="LIMIT")
    price = serializers.DecimalField(
        max_digits=30, decimal_places=10, required=False, help_text="required for LIMIT"
    )
    tif = serializers.ChoiceField(choices=TIFS, default="DAY")
    account = serializers.CharField(required=False, max_length=100)
    strategy = serializers.CharField(required=False, max_length=100)
    cl_ord_id = serializers.CharField(required=False, max_length=100)
    incident = serializers.CharField(
        required=False,
        max_length=100,
        help_text="the incident the order is recorded in, by name or id (default: sandbox)",
    )


class SandboxResultSerializer(serializers.Serializer):
    cl_ord_id = serializers.CharField()
    accepted = serializers.BooleanField()
    risk = serializers.ListField(child=serializers.DictField(), help_text="risk check results")
    reports = serializers.ListField(
        child=serializers.DictField(), help_text="execution reports (capture-format payloads)"
    )


class KillSwitchSerializer(serializers.Serializer):
    scope = serializers.CharField()
    value = serializers.CharField()
    reason = serializers.CharField()


class SandboxStateSerializer(serializers.Serializer):
    venue = serializers.CharField()
    kill_switches = KillSwitchSerializer(many=True)
    limits = serializers.DictField(
        child=serializers.CharField(allow_null=True), help_text="limit name -> value or null"
    )
