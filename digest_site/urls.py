from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Paper Digest administration"
admin.site.site_title = "Paper Digest admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("", include("recommender.urls")),
]
