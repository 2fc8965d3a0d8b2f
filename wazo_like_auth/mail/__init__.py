"""Outgoing mail: templates rendered into safe MIME messages (messages.py), SMTP delivery with
failures sorted into "retry later" and "never" (smtp.py). No database, no Flask."""
