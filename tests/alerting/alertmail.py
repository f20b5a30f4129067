"""What the alerting tests share: a mailbox behind a real SMTP server on
loopback (aiosmtpd, Debian's python3-aiosmtpd), and the text of a message."""

import email
import email.policy
import threading
import time

from aiosmtpd.controller import Controller


class Mailbox:
    """What the SMTP server received, as (recipients, parsed message)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append((envelope.rcpt_tos, message))
        return "250 OK"

    def take(self):
        with self.lock:
            taken, self.messages = self.messages, []
        return taken


def smtp_server(mailbox, port):
    """An SMTP server on 127.0.0.1:`port` delivering into `mailbox`, started;
    stop() it when done."""
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


def text_of(message):
    parts = [message] if not message.is_multipart() else list(message.walk())
    text = ""
    for part in parts:
        if part.get_content_maintype() == "text":
            text += part.get_content()
    return text


def wait_for_mail(mailbox, words, timeout, fail):
    """The first message whose subject holds every one of `words`; calls
    fail(message) after `timeout` seconds without one."""
    deadline = time.time() + timeout
    seen = []
    while time.time() < deadline:
        for rcpt, message in mailbox.take():
            seen.append(message["Subject"])
            if all(w in message["Subject"] for w in words):
                return rcpt, message
        time.sleep(0.5)
    fail(f"no email with {words} in its subject within {timeout} s (subjects seen: {seen})")
