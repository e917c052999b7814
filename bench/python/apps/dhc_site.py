"""Debian's django-health-check (3.17) with its database and Redis checks, at /readyz/."""
import os
from urllib.parse import urlsplit

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.urls import include, path

pg = urlsplit(os.environ["VITALS_TEST_PG_URL"])
settings.configure(
    DEBUG=False, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__, SECRET_KEY="d" * 50,
    INSTALLED_APPS=["django.contrib.contenttypes", "health_check", "health_check.db",
                    "health_check.contrib.redis"],
    DATABASES={"default": {"ENGINE": "django.db.backends.postgresql", "NAME": pg.path[1:],
                           "USER": pg.username, "PASSWORD": pg.password, "HOST": pg.hostname,
                           "PORT": pg.port, "CONN_MAX_AGE": 60}},
    REDIS_URL=os.environ["VITALS_TEST_REDIS_URL"],
    DEFAULT_AUTO_FIELD="django.db.models.AutoField")
urlpatterns = [path("readyz/", include("health_check.urls"))]
application = get_wsgi_application()

if __name__ == "__main__":  # python3 dhc_site.py migrate: the table its db check writes
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
