"""Webhook posts as the providers send them, in the shapes their documentation (and anymail's)
gives: Postmark (one JSON event a post), SendGrid (a JSON list), Mailgun (JSON with a signed
"signature" block) and Amazon SES (an SNS notification whose "Message" is the SES event as a
JSON string). Each builder returns what a test client posts: path, body, content type, headers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field

WEBHOOK_SECRET = "hooks:correct-horse-battery"
MAILGUN_SIGNING_KEY = "mailgun-signing-key-for-tests"


def basic_auth(secret: str = WEBHOOK_SECRET) -> str:
    return "Basic " + base64.b64encode(secret.encode()).decode()


@dataclass
class Post:
    path: str
    body: str
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def send(self, client, *, auth: str | None = None):
        extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in self.headers.items()}
        if auth is not None:
            extra["HTTP_AUTHORIZATION"] = auth
        return client.post(self.path, data=self.body, content_type=self.content_type, **extra)


# --- Postmark ---------------------------------------------------------------------------------
POSTMARK = "/anymail/postmark/tracking/"


def postmark_bounce(
    email: str, *, bounce_id: int, kind: str = "HardBounce", message_id: str = "", at: str = ""
) -> Post:
    details = {
        "HardBounce": ("smtp;550 5.1.1 The email account that you tried to reach does not exist."),
        "SoftBounce": "smtp;452 4.2.2 The email account that you tried to reach is over quota.",
    }.get(kind, "")
    event = {
        "RecordType": "Bounce",
        "ID": bounce_id,
        "Type": kind,
        "TypeCode": {"HardBounce": 1, "SoftBounce": 4096}.get(kind, 0),
        "ServerID": 23,
        "MessageStream": "outbound",
        "Name": "Hard bounce" if kind == "HardBounce" else "Soft bounce",
        "MessageID": message_id or str(uuid.uuid4()),
        "Description": "The server was unable to deliver your message.",
        "Details": details,
        "Email": email,
        "From": "digest@paper-digest.example",
        "BouncedAt": at or "2026-07-01T07:02:11.3963933-04:00",
        "DumpAvailable": True,
        "Inactive": kind == "HardBounce",
        "CanActivate": True,
        "Subject": "3 new papers for you",
        "Content": "",
    }
    return Post(POSTMARK, json.dumps(event))


def postmark_delivery(email: str, *, message_id: str) -> Post:
    event = {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": message_id,
        "Recipient": email,
        "Tag": "digest",
        "DeliveredAt": "2026-07-01T07:00:09.2735393-04:00",
        "Details": "smtp;250 2.0.0 OK",
        "Metadata": {},
    }
    return Post(POSTMARK, json.dumps(event))


def postmark_open(email: str, *, message_id: str) -> Post:
    event = {
        "RecordType": "Open",
        "MessageStream": "outbound",
        "FirstOpen": True,
        "Client": {"Name": "Thunderbird", "Company": "Mozilla", "Family": "Thunderbird"},
        "OS": {"Name": "Linux", "Company": "", "Family": "Linux"},
        "Platform": "Desktop",
        "UserAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Thunderbird/128.0",
        "ReadSeconds": 4,
        "Geo": {},
        "MessageID": message_id,
        "ReceivedAt": "2026-07-01T08:15:41.2493688-04:00",
        "Recipient": email,
    }
    return Post(POSTMARK, json.dumps(event))


def postmark_spam_complaint(email: str, *, complaint_id: int, message_id: str = "") -> Post:
    event = {
        "RecordType": "SpamComplaint",
        "ID": complaint_id,
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "Name": "Spam complaint",
        "MessageStream": "outbound",
        "MessageID": message_id or str(uuid.uuid4()),
        "Description": "The subscriber explicitly marked this message as spam.",
        "Details": "Test spam complaint details",
        "Email": email,
        "From": "digest@paper-digest.example",
        "BouncedAt": "2026-07-01T09:00:00.0000000-04:00",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": False,
        "Subject": "3 new papers for you",
    }
    return Post(POSTMARK, json.dumps(event))


def postmark_subscription_change(email: str, *, message_id: str) -> Post:
    event = {
        "RecordType": "SubscriptionChange",
        "MessageID": message_id,
        "ServerID": 23,
        "MessageStream": "outbound",
        "ChangedAt": "2026-07-01T10:00:00Z",
        "Recipient": email,
        "Origin": "Recipient",
        "SuppressSending": True,
        "SuppressionReason": "ManualSuppression",
        "Tag": "digest",
        "Metadata": {},
    }
    return Post(POSTMARK, json.dumps(event))


# --- SendGrid ---------------------------------------------------------------------------------
SENDGRID = "/anymail/sendgrid/tracking/"


def sendgrid_events(*events: dict) -> Post:
    return Post(SENDGRID, json.dumps(list(events)))


def sendgrid_event(event: str, email: str, *, event_id: str, **fields) -> dict:
    return {
        "email": email,
        "timestamp": 1782900000,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "event": event,
        "sg_event_id": event_id,
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "category": ["digest"],
        **fields,
    }


# --- Mailgun ----------------------------------------------------------------------------------
MAILGUN = "/anymail/mailgun/tracking/"


def mailgun_failed(
    email: str, *, token: str, severity: str = "permanent", key: str = MAILGUN_SIGNING_KEY
) -> Post:
    timestamp = "1782900000"
    permanent = severity == "permanent"
    payload = {
        "signature": {
            "timestamp": timestamp,
            "token": token,
            "signature": hmac.new(
                key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256
            ).hexdigest(),
        },
        "event-data": {
            "id": "G9Bn5sl1TC6nu79C8C0bwg",
            "timestamp": 1782900000.123,
            "log-level": "error",
            "event": "failed",
            "severity": severity,
            "reason": "bounce" if permanent else "generic",
            "recipient": email,
            "recipient-domain": email.rpartition("@")[2],
            "tags": ["digest"],
            "user-variables": {},
            "delivery-status": {
                "attempt-no": 1,
                "code": 550 if permanent else 452,
                "message": (
                    "5.1.1 The email account that you tried to reach does not exist"
                    if permanent
                    else "4.2.2 Mailbox full"
                ),
                "description": "",
                "session-seconds": 0.4,
            },
            "message": {
                "headers": {
                    "to": email,
                    "message-id": "20260701070000.1.ABCDEF@mg.paper-digest.example",
                    "from": "digest@paper-digest.example",
                    "subject": "3 new papers for you",
                },
                "attachments": [],
                "size": 2048,
            },
        },
    }
    return Post(MAILGUN, json.dumps(payload))


# --- Amazon SES (through SNS) -------------------------------------------------------------------
AMAZON_SES = "/anymail/amazon_ses/tracking/"


def ses_notification(ses_event: dict, *, sns_id: str | None = None) -> Post:
    sns_id = sns_id or str(uuid.uuid4())
    envelope = {
        "Type": "Notification",
        "MessageId": sns_id,
        "TopicArn": "arn:aws:sns:eu-west-1:123456789012:digest-ses-events",
        "Message": json.dumps(ses_event),
        "Timestamp": "2026-07-01T07:01:02.123Z",
        "SignatureVersion": "1",
        "Signature": "not-checked-by-anymail",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService.pem",
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
    }
    # SNS posts JSON with a text/plain content type and repeats type and id in headers.
    return Post(
        AMAZON_SES,
        json.dumps(envelope),
        content_type="text/plain; charset=UTF-8",
        headers={"x-amz-sns-message-type": "Notification", "x-amz-sns-message-id": sns_id},
    )


def ses_mail(*recipients: str, message_id: str) -> dict:
    return {
        "timestamp": "2026-07-01T07:00:00.000Z",
        "source": "digest@paper-digest.example",
        "sourceArn": "arn:aws:ses:eu-west-1:123456789012:identity/paper-digest.example",
        "messageId": message_id,
        "destination": list(recipients),
        "headersTruncated": False,
        "headers": [{"name": "Subject", "value": "3 new papers for you"}],
    }


def ses_bounce(*recipients: str, bounce_type: str = "Permanent", message_id: str) -> dict:
    permanent = bounce_type == "Permanent"
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": "General" if permanent else "MailboxFull",
            "bouncedRecipients": [
                {
                    "emailAddress": address,
                    "action": "failed",
                    "status": "5.1.1" if permanent else "4.2.2",
                    "diagnosticCode": (
                        "smtp; 550 5.1.1 user unknown"
                        if permanent
                        else "smtp; 452 4.2.2 mailbox full"
                    ),
                }
                for address in recipients
            ],
            "timestamp": "2026-07-01T07:00:59.101Z",
            "feedbackId": "0100017a-bounce-feedback-id",
            "reportingMTA": "dsn; a1-2.smtp-out.eu-west-1.amazonses.com",
        },
        "mail": ses_mail(*recipients, message_id=message_id),
    }


def ses_complaint(email: str, *, message_id: str) -> dict:
    return {
        "notificationType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": email}],
            "timestamp": "2026-07-01T09:00:00.000Z",
            "feedbackId": "0100017a-complaint-feedback-id",
            "userAgent": "ExampleCorp Feedback Loop (V0.01)",
            "complaintFeedbackType": "abuse",
            "arrivalDate": "2026-07-01T08:59:00.000Z",
        },
        "mail": ses_mail(email, message_id=message_id),
    }


def ses_delivery(email: str, *, message_id: str) -> dict:
    return {
        "notificationType": "Delivery",
        "delivery": {
            "timestamp": "2026-07-01T07:00:03.000Z",
            "processingTimeMillis": 546,
            "recipients": [email],
            "smtpResponse": "250 ok:  Message 64111812 accepted",
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
        },
        "mail": ses_mail(email, message_id=message_id),
    }
