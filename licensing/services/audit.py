import json

from django.core.serializers.json import DjangoJSONEncoder

from licensing.models.audit import AuditEvent


def audit(*, actor, organisation, action, target, payload=None, api_key=None):
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        api_key=api_key,
        organisation=organisation,
        action=action,
        target_type=target._meta.model_name,
        target_id=str(target.pk),
        payload=json.loads(json.dumps(payload or {}, cls=DjangoJSONEncoder)),
    )


def audit_many(rows):
    """`audit` for a batch, in one INSERT: rows of (actor, organisation, action, target_type, target_id, payload)."""
    return AuditEvent.objects.bulk_create([
        AuditEvent(actor=actor if getattr(actor, "pk", None) else None, organisation=organisation, action=action,
                   target_type=target_type, target_id=str(target_id),
                   payload=json.loads(json.dumps(payload or {}, cls=DjangoJSONEncoder)))
        for actor, organisation, action, target_type, target_id, payload in rows
    ])
