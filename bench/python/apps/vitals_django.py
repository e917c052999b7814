"""Django + vitals' middleware, in the same server as django-health-check."""
from django.conf import settings
from django.core.wsgi import get_wsgi_application

settings.configure(DEBUG=False, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__, SECRET_KEY="b" * 50,
                   MIDDLEWARE=["vitals.django.HealthCheckMiddleware"],
                   VITALS={"SERVICE": "bench_service.svc"})
urlpatterns = []
application = get_wsgi_application()
