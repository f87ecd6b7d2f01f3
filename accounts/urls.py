app_name = "accounts"

# The subscription pages (landing form, confirm, preferences, unsubscribe) are added by the
# subscription-flow work.
urlpatterns: list = []
