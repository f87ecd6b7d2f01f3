from django.apps import AppConfig


class RecommenderConfig(AppConfig):
    name = "recommender"
    verbose_name = "Papers and digests"

    def ready(self) -> None:
        # Connects the receiver of anymail's tracking signal (bounces, complaints).
        from digest_site.mailing import webhooks  # noqa: F401
