"""WSGI entry point, served by granian in production (see docker-compose.yml)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest_site.settings")

django_application = get_wsgi_application()

# granian starts every request's environ from a copy of the process environment, as CGI did, so
# request.META would carry DATABASE_URL, EMAIL_URL, DJANGO_SECRET_KEY and the provider keys.
# Django's error reports hide only names that look secret (*KEY*, *PASS*, ...): the passwords in
# the URLs would show. Those names are taken out of each request before Django sees it (read after
# the settings loaded, so names a .env file added are included; ~50 dict pops, a few µs).
_REQUEST_VARIABLES = frozenset(
    {
        "CONTENT_LENGTH",
        "CONTENT_TYPE",
        "GATEWAY_INTERFACE",
        "PATH_INFO",
        "QUERY_STRING",
        "REMOTE_ADDR",
        "REMOTE_HOST",
        "REMOTE_PORT",
        "REQUEST_METHOD",
        "SCRIPT_NAME",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_PROTOCOL",
        "SERVER_SOFTWARE",
    }
)
PROCESS_ONLY_NAMES = tuple(
    name for name in os.environ if name not in _REQUEST_VARIABLES and not name.startswith("HTTP_")
)


def application(environ, start_response):
    for name in PROCESS_ONLY_NAMES:
        environ.pop(name, None)
    return django_application(environ, start_response)
