"""WSGI entry point, served by granian in production (see docker-compose.yml)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest_site.settings")

application = get_wsgi_application()
