#!/usr/bin/python3
"""The lab's SMS gateway: an XMPP external component (XEP-0114) that stands in for the
SMS carrier, the one part of the SMS path that cannot be real here. It speaks the
convention of docs/sms-gateway.md (the one JMP/Cheogram-style gateways use) to the
lab Prosody, and hands "to the carrier" by writing a line to a file.

    SMS_COMPONENT=sms.localhost SMS_SECRET=... XMPP_COMPONENT_PORT=5347 \
    SMS_CONTROL_PORT=5390 SMS_USERS="alice@localhost=+15550100:Alice ..." \
    tests/lab/sms_gateway.py DIR

- Registration table (SMS_USERS): `jid=+E164[:Display name]`; several users on one
  number share it. XEP-0077 get answers `<registered/>` and `<phone>`, plus who else
  shares the number; an unknown user gets the empty form (no number).
- XEP-0100 jabber:iq:gateway: a typed number becomes `+E164@component` (NANP: ten
  digits get +1, eleven starting with 1 get +; other input needs a leading +).
- Outbound `<message type='chat'>` to `+E164@component`: recorded once per (sender,
  id) in DIR/outbound.jsonl (an XEP-0066 URL is fetched into DIR/media/), answered
  with an XEP-0184 receipt when asked for one, and copied to the number's other
  sharers with `<sms xmlns='urn:ucdesk:sms:0' direction='out' by=... name=...>`.
  A text to one of the table's own numbers comes back in to its users (id `net-<id>`),
  as the carrier would deliver it. A destination told to fail gets an error stanza
  with its text instead.
- Control (HTTP on 127.0.0.1:SMS_CONTROL_PORT, JSON bodies):
  POST /inbound {"from": "+1555...", "to": "+15550100", "body": "...",
                 "media": [{"name": "a.jpg", "type": "image/jpeg", "b64": "..."}],
                 "repeat": N (optional: N texts "body #1"... instead of one)}
       delivers to every user of the number (the text, then one message per file,
       each file served from GET /media/<name> on this port);
  POST /fail {"number": "+1555...", "text": "..."}  (text empty: stop failing)
  POST /raw {"xml": "<message .../>"}  sends a stanza as written (tests of bad input)
- SMS_ECHO (optional, the demo): numbers that text back "You texted: ..." to every
  text they get, as a phone would.
  GET /outbound  the records so far, one JSON object per line.

Uses slixmpp (Debian python3-slixmpp). Prints `ready` once the component is connected
and the control port listens; SIGTERM stops it.
"""
import asyncio
import base64
import http.server
import json
import logging
import os
import re
import signal
import sys
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

NS_SMS = "urn:ucdesk:sms:0"
NS_REGISTER = "jabber:iq:register"
NS_GATEWAY = "jabber:iq:gateway"
NS_RECEIPTS = "urn:xmpp:receipts"
NS_OOB = "jabber:x:oob"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"
CA = "{jabber:component:accept}"


def parse_users(spec):
    """`jid=+E164[:Name] ...` -> {bare jid: (number, name)}."""
    users = {}
    for item in spec.split():
        jid, _, rest = item.partition("=")
        number, _, name = rest.partition(":")
        users[jid.lower()] = (number, name or jid.split("@")[0].capitalize())
    return users


def normalise(typed):
    """The gateway's number rule: E.164 with a leading +; NANP shorthand accepted."""
    digits = re.sub(r"[\s().\-]", "", typed)
    if re.fullmatch(r"\+[1-9]\d{6,14}", digits):
        return digits
    if re.fullmatch(r"\d{10}", digits):
        return "+1" + digits
    if re.fullmatch(r"1\d{10}", digits):
        return "+" + digits
    return None


class Gateway(slixmpp.ComponentXMPP):
    def __init__(self, jid, secret, port, dir, users):
        super().__init__(jid, secret, "127.0.0.1", port)
        self.dir = dir
        self.users = users
        self.echo = set(os.environ.get("SMS_ECHO", "").split())
        self.injected = 0
        self.failing = {}
        # (sender, id) already handed over: a client's retry is not sent twice, across
        # a restart of the gateway too (the records are read back).
        self.seen = set()
        try:
            with open(os.path.join(dir, "outbound.jsonl"), encoding="utf-8") as f:
                for line in f:
                    r = json.loads(line)
                    self.seen.add((r["from"], r["id"]))
        except FileNotFoundError:
            pass
        self.media = {}
        self.lock = threading.Lock()
        os.makedirs(os.path.join(dir, "media"), exist_ok=True)
        self.outbound = open(os.path.join(dir, "outbound.jsonl"), "a", encoding="utf-8")
        self.register_plugin("xep_0030")
        disco = self["xep_0030"]
        disco.add_identity(category="gateway", itype="sms", name="Lab SMS gateway")
        for feature in (NS_REGISTER, NS_GATEWAY, NS_RECEIPTS):
            disco.add_feature(feature)
        for ns, handler in ((NS_REGISTER, self.on_register), (NS_GATEWAY, self.on_gateway)):
            self.register_handler(Callback(ns, MatchXPath("%siq/{%s}query" % (CA, ns)), handler))
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("session_start", self.on_start)
        self.ready_said = False

    def on_start(self, _event):
        if not self.ready_said:
            self.ready_said = True
            print("ready", flush=True)

    # -- iq ------------------------------------------------------------------------

    def reply(self, iq, query=None, error=None):
        out = ET.Element("iq", {"type": "error" if error else "result", "id": iq["id"],
                                "from": iq["to"].full, "to": iq["from"].full})
        if query is not None:
            out.append(query)
        if error:
            kind, condition, text = error
            e = ET.SubElement(out, "error", {"type": kind})
            ET.SubElement(e, "{%s}%s" % (NS_STANZAS, condition))
            if text:
                ET.SubElement(e, "{%s}text" % NS_STANZAS).text = text
        self.send_raw(ET.tostring(out, encoding="unicode"))

    def on_register(self, iq):
        user = iq["from"].bare.lower()
        query = ET.Element("{%s}query" % NS_REGISTER)
        if iq["type"] != "get":
            return self.reply(iq, error=("cancel", "not-allowed", "numbers are assigned by the carrier"))
        if user in self.users:
            number, _ = self.users[user]
            ET.SubElement(query, "{%s}registered" % NS_REGISTER)
            ET.SubElement(query, "{%s}phone" % NS_REGISTER).text = number
            shared = ET.SubElement(query, "{%s}shared" % NS_SMS)
            for other, (n, name) in sorted(self.users.items()):
                if n == number and other != user:
                    ET.SubElement(shared, "{%s}user" % NS_SMS, {"jid": other, "name": name})
        else:
            ET.SubElement(query, "{%s}instructions" % NS_REGISTER).text = "No number is assigned to this account."
            ET.SubElement(query, "{%s}phone" % NS_REGISTER)
        self.reply(iq, query)

    def on_gateway(self, iq):
        query = ET.Element("{%s}query" % NS_GATEWAY)
        if iq["type"] == "get":
            ET.SubElement(query, "{%s}desc" % NS_GATEWAY).text = "Enter the phone number to text."
            ET.SubElement(query, "{%s}prompt" % NS_GATEWAY).text = "Phone number"
            return self.reply(iq, query)
        prompt = iq.xml.find("{%s}query/{%s}prompt" % (NS_GATEWAY, NS_GATEWAY))
        number = normalise(prompt.text or "") if prompt is not None else None
        if number is None:
            typed = prompt.text if prompt is not None else ""
            return self.reply(iq, error=("modify", "not-acceptable", "not a phone number: %r" % typed))
        ET.SubElement(query, "{%s}jid" % NS_GATEWAY).text = "%s@%s" % (number, self.boundjid.bare)
        self.reply(iq, query)

    # -- messages --------------------------------------------------------------------

    def on_message(self, msg):
        if msg["type"] == "error":
            return
        user = msg["from"].bare.lower()
        to = msg["to"].user
        body = msg["body"]
        oob = msg.xml.find("{%s}x/{%s}url" % (NS_OOB, NS_OOB))
        if not body and oob is None:
            return  # chat states, receipts and markers do not go to the carrier
        if user not in self.users:
            return self.bounce(msg, "auth", "registration-required", "no SMS number for %s" % user)
        if normalise(to or "") != to:
            return self.bounce(msg, "cancel", "item-not-found", "not a phone number: %s" % to)
        number, name = self.users[user]
        key = (user, msg["id"])
        with self.lock:
            failure = self.failing.get(to)
        # A repeat of a text the carrier has is answered with its receipt again, even
        # if the destination fails since.
        if failure and key not in self.seen:
            return self.bounce(msg, "cancel", "recipient-unavailable", failure)
        if key not in self.seen:
            self.seen.add(key)
            record = {"from": user, "number": number, "to": to, "id": msg["id"], "body": body,
                      "at": time.time()}
            if oob is not None and oob.text:
                record["url"] = oob.text
                record["media"], record["size"] = self.fetch(oob.text, msg["id"])
            self.outbound.write(json.dumps(record) + "\n")
            self.outbound.flush()
            self.copy_to_sharers(msg, user, number, name)
            self.deliver_on_net(msg, number, to)
            if to in self.echo and body:
                self.inbound({"from": to, "to": number, "body": "You texted: %s" % body}, "")
        if msg.xml.find("{%s}request" % NS_RECEIPTS) is not None:
            receipt = ET.Element("message", {"from": msg["to"].full, "to": msg["from"].full, "id": "r-" + msg["id"]})
            ET.SubElement(receipt, "{%s}received" % NS_RECEIPTS, {"id": msg["id"]})
            self.send_raw(ET.tostring(receipt, encoding="unicode"))

    def fetch(self, url, id):
        """Downloads an MMS file the way the carrier would; (path, size) or (None, 0)."""
        try:
            # Loopback only: never through a proxy the environment names.
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(url, timeout=10) as r:
                data = r.read()
        except Exception as e:  # the record says so; the message still went
            logging.warning("cannot fetch %s: %s", url, e)
            return None, 0
        name = re.sub(r"[^A-Za-z0-9._-]", "_", "%s-%s" % (id, url.rsplit("/", 1)[-1]))
        path = os.path.join(self.dir, "media", name)
        with open(path, "wb") as f:
            f.write(data)
        return path, len(data)

    def copy_to_sharers(self, msg, user, number, name):
        for other, (n, _) in self.users.items():
            if n != number or other == user:
                continue
            copy = ET.Element("message", {"type": "chat", "from": msg["to"].bare, "to": other, "id": msg["id"]})
            if msg["body"]:
                ET.SubElement(copy, "body").text = msg["body"]
            oob = msg.xml.find("{%s}x" % NS_OOB)
            if oob is not None:
                copy.append(oob)
            ET.SubElement(copy, "{%s}sms" % NS_SMS, {"direction": "out", "by": user, "name": name})
            self.send_raw(ET.tostring(copy, encoding="unicode"))

    def deliver_on_net(self, msg, number, to):
        """A text to one of the gateway's own numbers comes back in, as the carrier
        would deliver it: to every user of that number, from the sender's number."""
        users = [u for u, (n, _) in self.users.items() if n == to]
        for user in users:
            m = ET.Element("message", {"type": "chat", "from": "%s@%s" % (number, self.boundjid.bare),
                                       "to": user, "id": "net-" + msg["id"]})
            ET.SubElement(m, "body").text = msg["body"]
            oob = msg.xml.find("{%s}x" % NS_OOB)
            if oob is not None:
                m.append(oob)
            self.send_raw(ET.tostring(m, encoding="unicode"))

    def bounce(self, msg, kind, condition, text):
        out = ET.Element("message", {"type": "error", "id": msg["id"], "from": msg["to"].full, "to": msg["from"].full})
        e = ET.SubElement(out, "error", {"type": kind})
        ET.SubElement(e, "{%s}%s" % (NS_STANZAS, condition))
        ET.SubElement(e, "{%s}text" % NS_STANZAS).text = text
        self.send_raw(ET.tostring(out, encoding="unicode"))

    # -- control ---------------------------------------------------------------------

    def inbound(self, req, base_url):
        sender, number = req["from"], req["to"]
        users = [u for u, (n, _) in self.users.items() if n == number]
        if not users:
            raise ValueError("no user has %s" % number)
        stanzas = []
        # Unique however fast the tests inject.
        self.injected += 1
        stamp = "%d-%d" % (time.time() * 1000, self.injected)
        # "repeat": N sends N texts ("body #1" ...), to fill an archive.
        for i in range(req.get("repeat", 0)):
            stanzas.append(("%s #%d" % (req["body"], i + 1), None))
        if req.get("body") and not req.get("repeat"):
            stanzas.append((req["body"], None))
        for i, m in enumerate(req.get("media", [])):
            name = "%s-%d-%s" % (stamp, i, re.sub(r"[^A-Za-z0-9._-]", "_", m["name"]))
            self.media[name] = (m.get("type", "application/octet-stream"), base64.b64decode(m["b64"]))
            url = "%s/media/%s" % (base_url, name)
            stanzas.append((url, url))
        ids = []
        for n, (body, url) in enumerate(stanzas):
            id = "in-%s-%d" % (stamp, n)
            ids.append(id)
            for user in users:
                m = ET.Element("message", {"type": "chat", "from": "%s@%s" % (sender, self.boundjid.bare),
                                           "to": user, "id": id})
                ET.SubElement(m, "body").text = body
                if url:
                    x = ET.SubElement(m, "{%s}x" % NS_OOB)
                    ET.SubElement(x, "{%s}url" % NS_OOB).text = url
                self.send_raw(ET.tostring(m, encoding="unicode"))
        return {"ids": ids, "users": users}


def control_server(gw, loop, port):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def answer(self, code, body, ctype="application/json"):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def on_loop(self, f):
            """Runs f on the XMPP loop (slixmpp is not thread-safe) and waits for it."""
            return asyncio.run_coroutine_threadsafe(wrap(f), loop).result(10)

        def do_GET(self):
            if self.path == "/outbound":
                with open(os.path.join(gw.dir, "outbound.jsonl"), "rb") as f:
                    return self.answer(200, f.read(), "application/x-ndjson")
            if self.path.startswith("/media/"):
                item = gw.media.get(self.path[len("/media/"):])
                if item:
                    return self.answer(200, item[1], item[0])
            self.answer(404, {"error": "not found"})

        def do_POST(self):
            req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            base = "http://127.0.0.1:%d" % port
            try:
                if self.path == "/inbound":
                    return self.answer(200, self.on_loop(lambda: gw.inbound(req, base)))
                if self.path == "/fail":
                    with gw.lock:
                        if req.get("text"):
                            gw.failing[req["number"]] = req["text"]
                        else:
                            gw.failing.pop(req["number"], None)
                    return self.answer(200, {})
                if self.path == "/raw":
                    self.on_loop(lambda: gw.send_raw(req["xml"]))
                    return self.answer(200, {})
            except (KeyError, ValueError) as e:
                return self.answer(400, {"error": str(e)})
            self.answer(404, {"error": "not found"})

    async def wrap(f):
        return f()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    dir = sys.argv[1]
    gw = Gateway(os.environ.get("SMS_COMPONENT", "sms.localhost"), os.environ["SMS_SECRET"],
                 int(os.environ["XMPP_COMPONENT_PORT"]), dir, parse_users(os.environ.get("SMS_USERS", "")))
    loop = asyncio.get_event_loop()
    control_server(gw, loop, int(os.environ["SMS_CONTROL_PORT"]))
    loop.add_signal_handler(signal.SIGTERM, lambda: (gw.disconnect(), loop.stop()))
    gw.connect()
    loop.run_forever()


if __name__ == "__main__":
    main()
