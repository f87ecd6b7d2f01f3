from django.urls import path

from . import exports, paste_check, views

app_name = "accounts"

urlpatterns = [
    path("", views.subscribe, name="subscribe"),
    path("subscribe/check-your-inbox", views.check_inbox, name="check-inbox"),
    path("subscribe/correct", views.correct_address, name="correct-address"),
    path("preview", views.preview, name="preview"),
    path("subscribe/check-papers", paste_check.check_papers, name="check-papers"),
    path("manage", views.request_link, name="request-link"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("preferences/<str:token>/", views.preferences, name="preferences"),
    path("preferences/<str:token>/pause", views.pause, name="pause"),
    path("preferences/<str:token>/delete", views.delete_data, name="delete"),
    path("preferences/<str:token>/email", views.request_email_change, name="request-email-change"),
    path("preferences/<str:token>/feed", exports.feed_settings, name="feed-settings"),
    path("preferences/<str:token>/liked.bib", exports.liked_bibtex, name="liked-bibtex"),
    path("change-email/<str:token>/", views.change_email, name="change-email"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path(
        "unsubscribe/<str:token>/one-click",
        views.unsubscribe_one_click,
        name="unsubscribe-one-click",
    ),
]
