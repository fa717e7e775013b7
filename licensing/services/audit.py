import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

from licensing.db import copy_rows
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
    """`audit` for a batch, written at once: rows of (actor, organisation, action, target_type, target_id, payload).
    Returns how many events were written."""
    rows = list(rows)
    if connection.vendor == "postgresql":
        now = timezone.now()
        copy_rows(AuditEvent, AUDIT_COLUMNS, (
            (now, actor.pk if getattr(actor, "pk", None) else None, getattr(organisation, "pk", organisation),
             action, target_type, str(target_id), json.dumps(payload or {}, cls=DjangoJSONEncoder))
            for actor, organisation, action, target_type, target_id, payload in rows))
        return len(rows)
    return len(AuditEvent.objects.bulk_create([
        AuditEvent(actor=actor if getattr(actor, "pk", None) else None, organisation=organisation, action=action,
                   target_type=target_type, target_id=str(target_id),
                   payload=json.loads(json.dumps(payload or {}, cls=DjangoJSONEncoder)))
        for actor, organisation, action, target_type, target_id, payload in rows
    ]))


AUDIT_COLUMNS = ("created_at", "actor_id", "organisation_id", "action", "target_type", "target_id", "payload")
