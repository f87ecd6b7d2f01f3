# One image for the web, worker and beat services of docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_STATIC_ROOT=/app/staticfiles \
    DIGEST_VAR_DIR=/var/lib/digest

WORKDIR /app
COPY requirements.txt requirements-embeddings.txt ./
RUN pip install -r requirements.txt
# The optional sentence-embedding part (RECOMMENDER_EMBEDDINGS=minilm): build with
# `--build-arg EMBEDDINGS=1` (docker-compose: EMBEDDINGS=1 in .env); torch's CPU build, ~1 GB.
ARG EMBEDDINGS=""
RUN if [ -n "$EMBEDDINGS" ]; then \
        pip install --extra-index-url https://download.pytorch.org/whl/cpu \
            -r requirements-embeddings.txt; \
    fi

COPY . .
RUN python manage.py collectstatic --noinput \
    && useradd --system --home /app digest \
    && mkdir -p /var/lib/digest \
    && chown -R digest /var/lib/digest
USER digest

EXPOSE 8000
CMD ["granian", "--interface", "wsgi", "--host", "0.0.0.0", "--port", "8000", "--blocking-threads", "1", "digest_site.wsgi:application"]
