"""Webhooks in the v1 API: endpoints (the secret shown once), secret rotation, the delivery log, replay."""
import json

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from licensing.api.errors import error_body
from licensing.api.serializers import ErrorSerializer, ModelSerializer, absolute
from licensing.api.views import ERRORS, OBJECT_ID, ApiView, NewestFirst
from licensing.models import EVENT_TYPES, WebhookDelivery, WebhookEndpoint
from licensing.selectors.webhooks import (
    deliveries_of,
    delivery_of,
    endpoint_of,
    endpoints_of,
)
from licensing.services.webhooks import (
    WebhookRefused,
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
    webhook_secret_rotate,
)

EVENT_NAMES = [name for name, _ in EVENT_TYPES]
DELIVERY_ID = OpenApiParameter("delivery_id", {"type": "integer", "minimum": 1}, OpenApiParameter.PATH)
REFUSED = {422: OpenApiResponse(ErrorSerializer, description="Refused: e.g. a private address, or an unknown event.")}


class WebhookEndpointSerializer(ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_NAMES))
    old_secret_signs_until = serializers.DateTimeField(source="previous_secret_expires_at", read_only=True,
                                                     allow_null=True)
    deliveries = serializers.SerializerMethodField()

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "events", "active", "disabled_reason", "old_secret_signs_until",
                  "created_at", "updated_at", "deliveries"]
        read_only_fields = ["disabled_reason", "created_at", "updated_at"]

    def get_deliveries(self, endpoint) -> str:
        return absolute("api:webhook-deliveries", endpoint.pk)


class WebhookEndpointWriteSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=500)
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_NAMES), min_length=1)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False)


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="whsec_…: shown only in this answer. Verify signatures with it.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookAttemptSerializer(serializers.Serializer):
    attempted_at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField()
    response_excerpt = serializers.CharField(help_text="The first kilobyte of the answer.")
    error = serializers.CharField()


class WebhookDeliverySerializer(ModelSerializer):
    msg_id = serializers.CharField(source="message.msg_id")
    event_type = serializers.CharField(source="message.event_type")
    payload = serializers.SerializerMethodField()
    attempt_log = WebhookAttemptSerializer(many=True)
    replay = serializers.SerializerMethodField()

    class Meta:
        model = WebhookDelivery
        fields = ["id", "msg_id", "event_type", "state", "attempts", "replay_of", "created_at", "last_attempt_at",
                  "finished_at", "payload", "attempt_log", "replay"]

    def get_payload(self, delivery) -> dict:
        return json.loads(delivery.message.body)

    def get_replay(self, delivery) -> str:
        return absolute("api:webhook-replay", delivery.endpoint_id, delivery.pk)


def _refused(refusal):
    return Response(error_body("webhook_refused", str(refusal)), status=status.HTTP_422_UNPROCESSABLE_ENTITY)


class WebhookEndpoints(ApiView, generics.ListCreateAPIView):
    """Your organisation's webhook endpoints; POST registers one and answers its secret, once."""

    required_scopes = {"GET": "webhooks:read", "POST": "webhooks:write"}
    serializer_class = WebhookEndpointSerializer
    pagination_class = NewestFirst

    def get_serializer_class(self):
        return WebhookEndpointWriteSerializer if self.request.method == "POST" else WebhookEndpointSerializer

    def get_throttles(self):
        self.throttle_scope = "api-write" if self.request.method == "POST" else "api-read"
        return super().get_throttles()

    def get_queryset(self):
        if self.documenting:
            return WebhookEndpoint.objects.none()
        return endpoints_of(organisation_id=self.organisation_id)

    @extend_schema(tags=["webhooks"], responses={200: WebhookEndpointSerializer(many=True), **ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(tags=["webhooks"], request=WebhookEndpointWriteSerializer,
                   responses={201: WebhookEndpointCreatedSerializer, 400: OpenApiResponse(ErrorSerializer),
                              **REFUSED, **ERRORS})
    def post(self, request, *args, **kwargs):
        data = WebhookEndpointWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        values.pop("active", None)
        try:
            endpoint, secret = webhook_endpoint_create(organisation=request.auth.organisation, by=None,
                                                       api_key=request.auth, **values)
        except WebhookRefused as refusal:
            return _refused(refusal)
        return Response({**WebhookEndpointSerializer(endpoint).data, "secret": secret}, status=201)


class WebhookEndpointDetail(ApiView, APIView):
    """One endpoint: read it, change its URL, events or whether it is active (PATCH), or delete it."""

    required_scopes = {"GET": "webhooks:read", "PATCH": "webhooks:write", "DELETE": "webhooks:write"}

    def endpoint(self, pk):
        return endpoint_of(organisation_id=self.organisation_id, pk=pk)

    @extend_schema(tags=["webhooks"], parameters=[OBJECT_ID], responses={200: WebhookEndpointSerializer, **ERRORS})
    def get(self, request, pk):
        return Response(WebhookEndpointSerializer(self.endpoint(pk)).data)

    @extend_schema(tags=["webhooks"], parameters=[OBJECT_ID], request=WebhookEndpointWriteSerializer(partial=True),
                   responses={200: WebhookEndpointSerializer, 400: OpenApiResponse(ErrorSerializer), **REFUSED,
                              **ERRORS})
    def patch(self, request, pk):
        endpoint = self.endpoint(pk)
        data = WebhookEndpointWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            endpoint = webhook_endpoint_update(endpoint=endpoint, by=None, api_key=request.auth,
                                               **data.validated_data)
        except WebhookRefused as refusal:
            return _refused(refusal)
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(tags=["webhooks"], parameters=[OBJECT_ID], responses={204: None, **ERRORS})
    def delete(self, request, pk):
        webhook_endpoint_delete(endpoint=self.endpoint(pk), by=None, api_key=request.auth)
        return Response(status=204)


class WebhookSecretRotation(ApiView, APIView):
    """A new signing secret, answered once; the old one still signs beside it for a day (a setting)."""

    required_scopes = {"POST": "webhooks:write"}
    throttle_scope = "api-write"

    @extend_schema(tags=["webhooks"], parameters=[OBJECT_ID], request=None,
                   responses={200: WebhookEndpointCreatedSerializer, **ERRORS})
    def post(self, request, pk):
        endpoint = endpoint_of(organisation_id=self.organisation_id, pk=pk)
        endpoint, secret = webhook_secret_rotate(endpoint=endpoint, by=None, api_key=request.auth)
        return Response({**WebhookEndpointSerializer(endpoint).data, "secret": secret})


class WebhookDeliveries(ApiView, generics.ListAPIView):
    """The endpoint's delivery log, newest first: each delivery with its attempts (status, time, answer)."""

    required_scopes = {"GET": "webhooks:read"}
    serializer_class = WebhookDeliverySerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        if self.documenting:
            return WebhookDelivery.objects.none()
        return deliveries_of(endpoint=endpoint_of(organisation_id=self.organisation_id, pk=self.kwargs["pk"]))

    @extend_schema(tags=["webhooks"], parameters=[OBJECT_ID],
                   responses={200: WebhookDeliverySerializer(many=True), **ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class WebhookReplay(ApiView, APIView):
    """Send a delivery's message again (same webhook-id) as a new delivery; 202, sent by a job."""

    required_scopes = {"POST": "webhooks:write"}
    throttle_scope = "api-write"

    @extend_schema(tags=["webhooks"], parameters=[OBJECT_ID, DELIVERY_ID], request=None,
                   responses={202: WebhookDeliverySerializer, **REFUSED, **ERRORS})
    def post(self, request, pk, delivery_id):
        endpoint = endpoint_of(organisation_id=self.organisation_id, pk=pk)
        try:
            replay = webhook_delivery_replay(delivery=delivery_of(endpoint=endpoint, pk=delivery_id), by=None,
                                             api_key=request.auth)
        except WebhookRefused as refusal:
            return _refused(refusal)
        replay = deliveries_of(endpoint=endpoint).get(pk=replay.pk)
        return Response(WebhookDeliverySerializer(replay).data, status=202)
