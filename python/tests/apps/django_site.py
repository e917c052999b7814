"""A one-file Django project under gunicorn: ``gunicorn django_site:application``."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import include, path

settings.configure(
    DEBUG=False, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__, SECRET_KEY="pytest-" * 8,
    MIDDLEWARE=(["vitals.django.HealthCheckMiddleware"]
                if os.environ.get("VITALS_DJANGO_MOUNT", "middleware") == "middleware" else []),
    VITALS={"SERVICE": "common.svc"})

urlpatterns = [path("", lambda r: HttpResponse(b"django app")),
               path("", include("vitals.django.urls"))]
application = get_wsgi_application()
