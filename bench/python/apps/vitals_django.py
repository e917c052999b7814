"""Django + vitals' middleware, in the same server as django-health-check."""
import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

import vitals

interval = float(os.environ.get("BENCH_INTERVAL", "1"))
reg = vitals.Registry()
reg.add("postgres", vitals.checks.postgres(url=os.environ["VITALS_TEST_PG_URL"]),
        interval=interval, timeout=0.5)
reg.add("redis", vitals.checks.redis(url=os.environ["VITALS_TEST_REDIS_URL"]),
        interval=interval, timeout=0.5)
svc = vitals.Service(reg)
settings.configure(DEBUG=False, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__, SECRET_KEY="b" * 50,
                   MIDDLEWARE=["vitals.django.HealthCheckMiddleware"],
                   VITALS={"SERVICE": svc})
urlpatterns = []
application = get_wsgi_application()
