from django.apps import AppConfig
from django.core import checks


class RecommenderConfig(AppConfig):
    name = "recommender"
    verbose_name = "Papers and digests"

    def ready(self) -> None:
        # Connects the receiver of anymail's tracking signal (bounces, complaints).
        from digest_site.mailing import webhooks  # noqa: F401

        checks.register(embeddings_installed)
        checks.register(unseen_terms_mode)


def embeddings_installed(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """RECOMMENDER_EMBEDDINGS asks for the optional encoder: say at startup when it is missing,
    rather than let every refit fail at night."""
    from .model.embeddings import check_available

    problem = check_available()
    return [checks.Error(problem, id="recommender.E001")] if problem else []


def unseen_terms_mode(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """PROFILE_LEXICAL_UNSEEN must be one of its modes: a misspelt one would silently turn the
    matching of rare typed terms off."""
    from django.conf import settings

    from .model.lexical import UNSEEN_MODES

    mode = settings.PROFILE_WEIGHTS.get("lexical_unseen", "")
    if mode in UNSEEN_MODES:
        return []
    allowed = ", ".join(repr(m) for m in UNSEEN_MODES)
    return [
        checks.Error(
            f"PROFILE_LEXICAL_UNSEEN is {mode!r}; it must be one of {allowed}",
            id="recommender.E002",
        )
    ]
