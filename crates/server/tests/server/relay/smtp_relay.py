"""An SMTP relay for the mail test, on PyPI's aiosmtpd: STARTTLS required (mode "starttls") or
TLS from the first byte (mode "tls"), AUTH PLAIN/LOGIN for one user over TLS only, and every
accepted message written to OUT/<n>.json as Python's own email package reads it (envelope,
headers, the plain-text and HTML parts), so the test reads what arrived, not what was sent.

Usage: smtp_relay.py MODE PORT CERT KEY USER PASSWORD OUT
Prints "ready" once it accepts connections.
"""

import email
import email.policy
import json
import os
import signal
import ssl
import sys
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

mode, port, cert, key, user, password, out = sys.argv[1:8]
os.makedirs(out, exist_ok=True)


class Keep:
    def __init__(self):
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        plain = message.get_body(("plain",))
        html = message.get_body(("html",))
        self.n += 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None
            or server.transport.get_extra_info("ssl_object") is not None,
            "user": session.auth_data.login.decode()
            if isinstance(session.auth_data, LoginPassword)
            else None,
            "from": str(message["From"]),
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "content_type": message.get_content_type(),
            "text": plain.get_content() if plain is not None else None,
            "html": html.get_content() if html is not None else None,
        }
        path = os.path.join(out, f"{self.n}.json")
        with open(path + ".part", "w") as f:
            json.dump(record, f)
        os.rename(path + ".part", path)
        return "250 OK: kept"


def check(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == user
        and auth_data.password.decode() == password
    )
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


# A generic context: the controller's own readiness check connects to it as a client.
warnings.simplefilter("ignore")
context = ssl.SSLContext(ssl.PROTOCOL_TLS)
context.load_cert_chain(cert, key)
if mode == "starttls":
    controller = Controller(
        Keep(), hostname="127.0.0.1", port=int(port), tls_context=context,
        require_starttls=True, authenticator=check, auth_required=True, auth_require_tls=True,
    )
elif mode == "tls":
    # Every byte is over TLS already (aiosmtpd's own TLS check sees STARTTLS only).
    controller = Controller(
        Keep(), hostname="127.0.0.1", port=int(port), ssl_context=context,
        authenticator=check, auth_required=True, auth_require_tls=False,
    )
else:
    sys.exit(f"unknown mode {mode}: starttls or tls")
controller.start()
print("ready", flush=True)
signal.sigwait({signal.SIGTERM, signal.SIGINT})
controller.stop()
