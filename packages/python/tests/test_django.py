"""The Django middleware and decorators with Django's test client."""

import django_site
from conftest import ADA
from gatehouse_client import GatehouseClient


def test_django_guards(standin):
    django_site.CLIENT = GatehouseClient(standin.issuer, standin.client_id, standin.client_secret)
    from django.test import Client

    try:
        c = Client()
        ada = f"Bearer {standin.sign(ADA)}"
        banned = f"Bearer {standin.sign(ADA, permissions=['banned'])}"
        r = c.get("/api/me")
        assert r.status_code == 401 and r.json()["error"]["code"] == "token_missing"
        assert c.get("/api/me", HTTP_AUTHORIZATION=ada).json()["id"] == ADA
        assert c.post("/posts", HTTP_AUTHORIZATION=ada).status_code == 201
        r = c.post("/posts", HTTP_AUTHORIZATION=banned)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        assert c.get("/workshop", HTTP_AUTHORIZATION=ada).status_code == 200
        assert c.get("/workshop", HTTP_AUTHORIZATION=banned).status_code == 403
    finally:
        django_site.CLIENT.close()
