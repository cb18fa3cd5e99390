"""Outgoing mail. Without ``MAIL_SERVER`` a message is written to the log and appended to
``instance/mail.log`` so an owner (or a test) can follow the links in it."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from pathlib import Path

from flask import current_app

log = logging.getLogger("forum.mail")


def send_mail(to: str, subject: str, body: str) -> None:
    """Send a plain-text message to ``to`` (by SMTP when configured, else to the log)."""
    cfg = current_app.config
    msg = EmailMessage()
    msg["From"] = cfg["MAIL_SENDER"]
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    current_app.extensions.setdefault("forum_outbox", []).append(msg)
    if cfg.get("MAIL_SERVER"):
        with smtplib.SMTP(cfg["MAIL_SERVER"], int(cfg["MAIL_PORT"]), timeout=20) as smtp:
            if cfg.get("MAIL_USE_TLS"):
                smtp.starttls()
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
            smtp.send_message(msg)
        return
    text = f"To: {to}\nSubject: {subject}\n\n{body}\n"
    log.info("mail (no SMTP configured):\n%s", text)
    path = Path(current_app.instance_path) / "mail.log"
    if path.parent.is_dir():
        with path.open("a", encoding="utf-8") as fh:
            fh.write(text + "-" * 40 + "\n")
