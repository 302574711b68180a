#!/usr/bin/python3
"""A chat bot for the lab and the demo: logs in to the lab Prosody and answers every
chat message it gets ("You said: ..."), accepting everyone as a contact.

    BOT_JID=bot@localhost BOT_PASS=botpw XMPP_SERVER=127.0.0.1:5322 CA_FILE=DIR/ca.pem \
    [BOT_BEFRIEND="demo@localhost ..."] tests/lab/chatbot.py

BOT_BEFRIEND: addresses the bot asks to be a contact of, so it shows in their lists.

Uses slixmpp (Debian python3-slixmpp), a client independent of ours, with TLS verified
against the lab CA. Prints `ready` once online; SIGTERM stops it.
"""
import asyncio
import logging
import os
import signal
import sys

import slixmpp


class Bot(slixmpp.ClientXMPP):
    def __init__(self, jid, password):
        super().__init__(jid, password)
        self.auto_authorize = True
        self.auto_subscribe = True
        self.add_event_handler("session_start", self.start)
        self.add_event_handler("message", self.message)

    async def start(self, _event):
        self.send_presence(pstatus="I answer everything you write")
        await self.get_roster()
        for jid in os.environ.get("BOT_BEFRIEND", "").split():
            self.send_presence_subscription(pto=jid)
        print("ready", flush=True)

    def message(self, msg):
        if msg["type"] in ("chat", "normal") and msg["body"]:
            msg.reply("You said: %s" % msg["body"]).send()


def main():
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    host, port = os.environ["XMPP_SERVER"].rsplit(":", 1)
    bot = Bot(os.environ["BOT_JID"], os.environ["BOT_PASS"])
    bot.ca_certs = os.environ["CA_FILE"]
    bot.register_plugin("xep_0030")
    bot.register_plugin("xep_0199")
    loop = asyncio.get_event_loop()
    loop.add_signal_handler(signal.SIGTERM, lambda: bot.disconnect())
    bot.add_event_handler("disconnected", lambda _e: loop.stop())
    bot.connect((host, int(port)))
    loop.run_forever()


if __name__ == "__main__":
    main()
