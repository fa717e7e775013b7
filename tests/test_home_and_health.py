import pytest
from django.test import override_settings


@pytest.mark.django_db
def test_home_page_says_what_tessera_is_and_offers_sign_in_and_sign_up(client):
    response = client.get("/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Tessera" in body
    assert "research licence" in body
    assert 'href="/accounts/login/"' in body
    assert 'href="/accounts/signup/"' in body


@pytest.mark.django_db
def test_healthz_reports_database_and_redis(client, settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "ok"
    assert data["checks"]["database"] == {"ok": True, "engine": "postgresql"}
    assert data["checks"]["redis"] == {"ok": True}


@pytest.mark.django_db
def test_healthz_answers_503_when_redis_is_unreachable(client):
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["ok"] is False
