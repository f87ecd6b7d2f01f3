from django.urls import path

from . import views

app_name = "recommender"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("feedback/<str:token>/", views.feedback, name="feedback"),
    path("open/<str:token>/", views.open_paper, name="open"),
    path("digest/<str:token>/", views.digest_web, name="digest-web"),
    path("feed/<str:key>.atom", views.digest_feed, name="feed"),
]
