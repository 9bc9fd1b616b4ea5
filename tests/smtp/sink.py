#!/usr/bin/env python3
"""A real SMTP server for errata's tests, on aiosmtpd.

    sink.py serve --dir DIR [--tls-cert F --tls-key F [--implicit-tls]]
                  [--require-starttls] [--auth USER:PASSWORD]
    sink.py dkim-verify MESSAGE 'v=DKIM1; k=rsa; p=...'
    sink.py parts MESSAGE

`serve` listens on 127.0.0.1, on a port of the system's choosing, and
prints `listening PORT` once it accepts connections. Each message it
accepts is written to DIR as N.eml (the bytes received), with N.json
beside it (envelope sender and recipients, whether the session was
encrypted and authenticated); N.json is written first, so a test that
sees N.eml sees both. Recipients whose local part starts with `refuse`
get `550 5.1.1` and those starting with `later` get `451 4.3.0`.

`parts` prints a message as JSON, decoded by Python's email package:
{"headers": [[name, value], ...], "parts": [[content type, text], ...]}.

`dkim-verify` checks a message's DKIM signature against the given key
record, standing for the DNS TXT record, and exits 0 only if it verifies.
"""

import argparse
import asyncio
import json
import os
import ssl
import sys


def serve(args):
    from aiosmtpd.smtp import SMTP, AuthResult

    os.makedirs(args.dir, exist_ok=True)

    class Handler:
        def __init__(self):
            self.count = 0

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            local = address.split("@", 1)[0].lower()
            if local.startswith("refuse"):
                return "550 5.1.1 No such mailbox here"
            if local.startswith("later"):
                return "451 4.3.0 Try again later"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            self.count += 1
            name = os.path.join(args.dir, "%06d" % self.count)
            meta = {
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                # session.ssl is set by STARTTLS only; an SMTPS transport
                # carries its TLS object from the first byte.
                "encrypted": session.ssl is not None
                or server.transport.get_extra_info("ssl_object") is not None,
                "authenticated": bool(session.authenticated),
            }
            for suffix, data in ((".json", json.dumps(meta).encode()), (".eml", envelope.original_content)):
                with open(name + ".part", "wb") as f:
                    f.write(data)
                os.rename(name + ".part", name + suffix)
            return "250 2.0.0 Message accepted"

    context = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)

    credentials = None
    if args.auth:
        user, _, password = args.auth.partition(":")
        credentials = (user.encode(), password.encode())

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = credentials is not None and (auth_data.login, auth_data.password) == credentials
        return AuthResult(success=ok)

    handler = Handler()

    def factory():
        options = dict(
            hostname="sink.test",
            enable_SMTPUTF8=True,
            authenticator=authenticator if credentials else None,
            auth_required=credentials is not None,
            auth_require_tls=False,
        )
        if context is not None and not args.implicit_tls:
            options.update(tls_context=context, require_starttls=args.require_starttls)
        return SMTP(handler, **options)

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            factory, host="127.0.0.1", port=0,
            ssl=context if args.implicit_tls else None,
        )
        port = server.sockets[0].getsockname()[1]
        print("listening %d" % port, flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def dkim_verify(args):
    import dkim

    with open(args.message, "rb") as f:
        message = f.read()
    record = args.record.encode()

    def dns(name, timeout=5):
        return record

    sys.exit(0 if dkim.verify(message, dnsfunc=dns) else 1)


def parts(args):
    import email
    from email import policy

    with open(args.message, "rb") as f:
        message = email.message_from_binary_file(f, policy=policy.default)
    leaves = [m for m in message.walk() if not m.is_multipart()]
    print(json.dumps({
        "headers": [[k, str(v)] for k, v in message.items()],
        "parts": [[m.get_content_type(), m.get_content()] for m in leaves],
    }))


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    s = commands.add_parser("serve")
    s.add_argument("--dir", required=True)
    s.add_argument("--tls-cert")
    s.add_argument("--tls-key")
    s.add_argument("--implicit-tls", action="store_true")
    s.add_argument("--require-starttls", action="store_true")
    s.add_argument("--auth")
    v = commands.add_parser("dkim-verify")
    v.add_argument("message")
    v.add_argument("record")
    p = commands.add_parser("parts")
    p.add_argument("message")
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = parse(sys.argv[1:])
    {"serve": serve, "dkim-verify": dkim_verify, "parts": parts}[args.command](args)
