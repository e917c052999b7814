"""URL patterns of the endpoints: ``path("", include("vitals.django.urls"))``."""

from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from .. import Handler
from . import view

_view = csrf_exempt(view)  # the push endpoint takes POSTs from cron jobs
urlpatterns = []
for _root in Handler._roots:
    urlpatterns.append(path(_root.lstrip("/"), _view))
    urlpatterns.append(re_path("^" + _root.lstrip("/") + "/(?P<name>.+)$", _view))
