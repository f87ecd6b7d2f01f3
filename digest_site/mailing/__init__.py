"""The one home for email: building messages from paired templates (messages), whether an
address may be mailed at all (policy), List-Unsubscribe headers (headers), the subscription
flow's emails (account_emails) and the file outbox backend of the embedded default (backends).
"""
