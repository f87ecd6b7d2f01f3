from django.apps import AppConfig
from django.core import checks


class RecommenderConfig(AppConfig):
    name = "recommender"
    verbose_name = "Papers and digests"

    def ready(self) -> None:
        # Connects the receiver of anymail's tracking signal (bounces, complaints).
        from digest_site.mailing import webhooks  # noqa: F401

        checks.register(embeddings_installed)


def embeddings_installed(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """RECOMMENDER_EMBEDDINGS asks for the optional encoder: say at startup when it is missing,
    rather than let every refit fail at night."""
    from .model.embeddings import check_available

    problem = check_available()
    return [checks.Error(problem, id="recommender.E001")] if problem else []
