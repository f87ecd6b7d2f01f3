from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("favicon.ico", views.favicon, name="favicon"),
    # The site (console/site.py) and its prefix (ADMIN_URL_PATH) are configured, not fixed here.
    path(settings.ADMIN_URL_PATH, admin.site.urls),
    # Provider tracking webhooks: /anymail/<esp>/tracking/ (digest_site/mailing/webhooks.py).
    path("anymail/", include("anymail.urls")),
    path("", include("accounts.urls")),
    path("", include("recommender.urls")),
]
