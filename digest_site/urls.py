from django.contrib import admin
from django.urls import include, path

from . import views

admin.site.site_header = "Paper Digest administration"
admin.site.site_title = "Paper Digest admin"

urlpatterns = [
    path("favicon.ico", views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("", include("recommender.urls")),
]
