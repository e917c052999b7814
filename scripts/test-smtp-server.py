#!/usr/bin/python3
"""A real SMTP server on loopback for the smtp check and the email notifier tests (Debian
python3-aiosmtpd), started by scripts/test-servers.sh. Four listeners in one process:

  starttls  STARTTLS offered and required, AUTH (PLAIN, LOGIN) required, over TLS only
  smtps     TLS from the first byte (implicit TLS), AUTH required
  plain     no STARTTLS, no AUTH: takes mail from anyone
  noauth    STARTTLS offered, no AUTH mechanism

Every accepted message is written to <dir>/maildir/new/ as an .eml file, preceded by the headers
X-Test-Envelope-From, X-Test-Envelope-To, X-Test-Auth (the login, or "-") and X-Test-TLS
(yes/no), so tests can check what arrived and how. Recipients whose local part starts with
"tempfail" are refused with 451 on their first two attempts, then accepted; "reject" with 550.
"""
import argparse
import os
import signal
import socket
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self, maildir):
        self.maildir = maildir
        self.attempts = {}
        self.seq = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 <%s>: no such user" % address
        if local.startswith("tempfail"):
            n = self.attempts.get(address, 0) + 1
            self.attempts[address] = n
            if n <= 2:
                return "451 4.3.0 try again later (attempt %d)" % n
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.seq += 1
        name = "%d.%d.%d.eml" % (time.time_ns(), os.getpid(), self.seq)
        auth = getattr(session, "auth_data", None)
        login = auth.login.decode() if isinstance(auth, LoginPassword) else "-"
        head = (
            "X-Test-Envelope-From: %s\r\nX-Test-Envelope-To: %s\r\nX-Test-Auth: %s\r\n"
            "X-Test-TLS: %s\r\n"
            % (envelope.mail_from, ",".join(envelope.rcpt_tos), login or "-",
               "yes" if session.ssl is not None else "no")
        )
        tmp = os.path.join(self.maildir, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(head.encode() + envelope.original_content)
        os.rename(tmp, os.path.join(self.maildir, "new", name))
        return "250 2.0.0 queued as %s" % name


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False, auth_data=auth_data)
    return check


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--starttls-port", type=int, required=True)
    p.add_argument("--smtps-port", type=int, required=True)
    p.add_argument("--plain-port", type=int, required=True)
    p.add_argument("--noauth-port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password-file", required=True)
    a = p.parse_args()

    # aiosmtpd's Controller.start() waits out its whole ready_timeout when the bind fails: try
    # the four ports first, so a port taken meanwhile is an immediate exit (test-servers.sh then
    # starts again from the next four).
    ports = (a.starttls_port, a.smtps_port, a.plain_port, a.noauth_port)
    for port in ports:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((a.host, port))
            except OSError as e:
                print("smtp test server: cannot bind %s:%d: %s" % (a.host, port, e), flush=True)
                return 3
    with open(a.password_file) as f:
        password = f.read().strip()
    maildir = os.path.join(a.dir, "maildir")
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(maildir, sub), exist_ok=True)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(a.cert, a.key)
    handler = Handler(maildir)
    auth = authenticator(a.user, password)
    # A loaded machine (CI, two cores, sanitizer builds) can take over the 5 s default to start.
    common = dict(hostname=a.host, server_hostname="vitals-test-smtp", ready_timeout=30)
    controllers = [
        Controller(handler, port=a.starttls_port, tls_context=tls, require_starttls=True,
                   auth_required=True, auth_require_tls=True, authenticator=auth, **common),
        Controller(handler, port=a.smtps_port, ssl_context=tls, auth_required=True,
                   auth_require_tls=False, authenticator=auth, **common),
        Controller(handler, port=a.plain_port, auth_require_tls=True, **common),
        Controller(handler, port=a.noauth_port, tls_context=tls, require_starttls=False,
                   auth_exclude_mechanism=["LOGIN", "PLAIN"], **common),
    ]
    for c in controllers:
        c.start()
    print("smtp test server ready on %s: starttls %d, smtps %d, plain %d, noauth %d"
          % (a.host, a.starttls_port, a.smtps_port, a.plain_port, a.noauth_port), flush=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    while not stop:
        time.sleep(0.2)
    for c in controllers:
        c.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
