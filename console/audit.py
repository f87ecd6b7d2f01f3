"""What the audit log records (django-auditlog): every model staff can change in the admin.

Each save and delete of these models writes an auditlog LogEntry with the field values before
and after, the staff member (AuditlogMiddleware) and their address; the admin lists, filters
and shows them ("Log entries" under Auditlog). Changes made without a signed-in user (a
subscriber's own sign-up, the pipeline) are recorded with no actor. Fields that move on every
digest or ingestion (schedules, timestamps, keys derived from other fields) are left out so the
log holds decisions, not noise. Digests, delivery and feedback events are not registered: the
admin shows them read-only, so no one changes them there.
"""

from __future__ import annotations

from auditlog.registry import auditlog
from django.contrib.auth.models import Group, User

from accounts.models import InterestProfile, Subscriber
from recommender.models import Paper, Suppression

auditlog.register(Paper, exclude_fields=["updated_at", "title_key", "ingested_at"])
# The feed key is a secret address: the log says it changed, never what it is.
auditlog.register(
    Subscriber, exclude_fields=["next_digest_at", "last_digest_at"], mask_fields=["feed_key"]
)
auditlog.register(InterestProfile, exclude_fields=["updated_at"], m2m_fields={"seed_papers"})
auditlog.register(Suppression)
auditlog.register(User, exclude_fields=["last_login"], mask_fields=["password"])
auditlog.register(Group, m2m_fields={"permissions"})
