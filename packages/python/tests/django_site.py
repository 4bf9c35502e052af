"""A Django site for the tests: settings, views guarded by the decorators, and the client the
middleware uses (``CLIENT``, set by each test)."""

import django
from django.conf import settings

CLIENT = None


def configure():
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="x" * 50,
            ROOT_URLCONF="django_site",
            ALLOWED_HOSTS=["testserver", "service.test"],
            MIDDLEWARE=["gatehouse_client.django.GatehouseMiddleware"],
            GATEHOUSE_CLIENT="django_site.CLIENT",
            INSTALLED_APPS=[],
        )
        django.setup()


configure()

from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402

from gatehouse_client.django import login_required, require_access, require_permission  # noqa: E402


@login_required
def me(request):
    return JsonResponse(request.member.to_dict())


@login_required
def page(request):
    return HttpResponse("page")


@require_permission("post:messages")
def post(request):
    return JsonResponse({"by": request.member.id}, status=201)


@require_access("members/workshop & !perm:banned")
def workshop(request):
    return HttpResponse("workshop")


urlpatterns = [
    path("api/me", me),
    path("page", page),
    path("posts", post),
    path("workshop", workshop),
]
