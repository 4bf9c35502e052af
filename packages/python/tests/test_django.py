"""The Django middleware and decorators with Django's test client."""

import django
from django.conf import settings

import conftest  # noqa: F401  (puts src on the path)

CLIENT = None


def setup_module():
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="x" * 50,
            ROOT_URLCONF=__name__,
            ALLOWED_HOSTS=["testserver"],
            MIDDLEWARE=["gatehouse_client.django.GatehouseMiddleware"],
            GATEHOUSE_CLIENT=f"{__name__}.CLIENT",
            INSTALLED_APPS=[],
        )
        django.setup()


from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402

from conftest import ADA  # noqa: E402
from gatehouse_client import GatehouseClient  # noqa: E402
from gatehouse_client.django import login_required, require_access, require_permission  # noqa: E402


@login_required
def me(request):
    return JsonResponse(request.member.to_dict())


@require_permission("post:messages")
def post(request):
    return JsonResponse({"by": request.member.id}, status=201)


@require_access("members/workshop & !perm:banned")
def workshop(request):
    return HttpResponse("workshop")


urlpatterns = [path("me", me), path("posts", post), path("workshop", workshop)]


def test_django_guards(standin):
    global CLIENT
    CLIENT = GatehouseClient(standin.issuer, standin.client_id, standin.client_secret)
    from django.test import Client

    try:
        c = Client()
        ada = f"Bearer {standin.sign(ADA)}"
        banned = f"Bearer {standin.sign(ADA, permissions=['banned'])}"
        r = c.get("/me")
        assert r.status_code == 401 and r.json()["error"]["code"] == "token_missing"
        assert c.get("/me", HTTP_AUTHORIZATION=ada).json()["id"] == ADA
        assert c.post("/posts", HTTP_AUTHORIZATION=ada).status_code == 201
        assert c.post("/posts", HTTP_AUTHORIZATION=banned).status_code == 403
        assert c.get("/workshop", HTTP_AUTHORIZATION=ada).status_code == 200
        assert c.get("/workshop", HTTP_AUTHORIZATION=banned).status_code == 403
    finally:
        CLIENT.close()
