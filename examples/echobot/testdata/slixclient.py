"""slixclient: a third-party client for echobot's interop test.

Drives the bot with slixmpp (Debian's python3-slixmpp; run it with
/usr/bin/python3), a client library Parley has nothing to do with:

 1. logs in as --jid, fetches its roster and sends available presence;
 2. asks --bot for a subscription to its presence;
 3. waits until the bot has approved and has asked back, approves the
    bot's request, and waits for its roster to show subscription both;
 4. sends a chat state notification with no body, then a chat message
    with a body and a thread, and checks that the first message the bot
    sends back is the echo: the same body in the same thread.

It prints one line, "slixclient: ok: …" and exits 0, or
"slixclient: FAIL: <reason>" and exits 1 (2 for bad arguments), within
--timeout seconds. The password comes from the environment variable
SLIXCLIENT_PASSWORD; every argument may also come from the environment
(SLIXCLIENT_JID, SLIXCLIENT_SERVER, SLIXCLIENT_BOT, SLIXCLIENT_CA).
"""

import argparse
import asyncio
import os
import sys
from pathlib import Path

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password, bot, body, thread):
        super().__init__(jid, password)
        self.bot = slixmpp.JID(bot).bare
        self.body = body
        self.thread = thread
        self.step = "the login"  # what the client waits for, for a timeout
        # Answer subscription requests here, not automatically, and do not
        # subscribe back on our own: the bot is the one that must.
        self.roster.auto_authorize = None
        self.roster.auto_subscribe = False
        self.register_plugin("xep_0085")  # chat states
        loop = asyncio.get_event_loop()
        self.approved = loop.create_future()  # the bot sent subscribed
        self.asked = loop.create_future()  # the bot sent subscribe
        self.both = loop.create_future()  # the roster says both
        self.echo = loop.create_future()  # the first message from the bot
        self.failed = loop.create_future()  # the login failed
        self.add_event_handler("failed_auth", self.on_failed_auth)
        self.add_event_handler("presence_subscribed", self.on_subscribed)
        self.add_event_handler("presence_subscribe", self.on_subscribe)
        self.add_event_handler("roster_update", self.on_roster_update)
        # Every message, with a body or not (slixmpp's "message" event only
        # has those with a body): a reply to the chat state must be seen.
        self.register_handler(Callback("any message", MatchXPath("{jabber:client}message"), self.on_message))

    def from_bot(self, stanza):
        return stanza["from"].bare == self.bot

    def on_failed_auth(self, _):
        settle(self.failed, "authentication failed")

    def on_subscribed(self, pres):
        if self.from_bot(pres):
            settle(self.approved, True)

    def on_subscribe(self, pres):
        if self.from_bot(pres):
            self.send_presence(pto=self.bot, ptype="subscribed")
            settle(self.asked, True)

    def on_roster_update(self, _):
        if self.bot in self.client_roster and self.client_roster[self.bot]["subscription"] == "both":
            settle(self.both, True)

    def on_message(self, msg):
        if self.from_bot(msg):
            settle(self.echo, msg)

    async def story(self):
        # Logged in: the roster first, then presence (RFC 6121 §2.2, §4.2).
        self.step = "the roster"
        await self.get_roster()
        self.send_presence()
        self.send_presence(pto=self.bot, ptype="subscribe")
        self.step = "the bot's approval (subscribed)"
        await self.approved
        self.step = "the bot's subscription request"
        await self.asked
        self.step = "a roster push with subscription both"
        await self.both

        state = self.make_message(mto=self.bot, mtype="chat")
        state["chat_state"] = "composing"
        state.send()
        msg = self.make_message(mto=self.bot, mbody=self.body, mtype="chat")
        msg["thread"] = self.thread
        msg["chat_state"] = "active"
        msg.send()
        self.step = "the bot's echo"
        got = await self.echo
        if got["type"] == "error":
            raise Failure("the bot's message is an error: %s" % got["error"]["condition"])
        if got["body"] != self.body or got["thread"] != self.thread:
            raise Failure("the bot's first message is body %r thread %r, want body %r thread %r"
                          % (got["body"], got["thread"], self.body, self.thread))
        return "%s subscribed back (subscription both) and echoed %r in thread %r" % (self.bot, got["body"], got["thread"])


class Failure(Exception):
    pass


def settle(future, value):
    if not future.done():
        future.set_result(value)


async def main(args, password):
    client = Client(args.jid, password, args.bot, args.body, args.thread)
    if args.ca:
        client.ca_certs = Path(args.ca)
    host, _, port = args.server.rpartition(":")
    started = asyncio.get_event_loop().create_future()
    client.add_event_handler("session_start", lambda _: settle(started, True))
    client.connect(address=(host, int(port)))
    try:
        async def run():
            login = asyncio.ensure_future(started)
            await asyncio.wait([login, client.failed], return_when=asyncio.FIRST_COMPLETED)
            if client.failed.done():
                raise Failure(client.failed.result())
            return await client.story()

        return await asyncio.wait_for(run(), args.timeout)
    except asyncio.TimeoutError:
        raise Failure("waited %g s for %s" % (args.timeout, client.step))
    finally:
        await client.disconnect(wait=2)


def parse_args():
    env = os.environ.get
    p = argparse.ArgumentParser(description="slixmpp subscribes to echobot and checks its echo")
    p.add_argument("--jid", default=env("SLIXCLIENT_JID"), help="this client's account")
    p.add_argument("--server", default=env("SLIXCLIENT_SERVER"), help="host:port of the server")
    p.add_argument("--bot", default=env("SLIXCLIENT_BOT"), help="the bot's JID")
    p.add_argument("--ca", default=env("SLIXCLIENT_CA"), help="PEM file of the certificates to trust")
    p.add_argument("--body", default="hello from slixmpp")
    p.add_argument("--thread", default="slixmpp-thread-1")
    p.add_argument("--timeout", type=float, default=30)
    args = p.parse_args()
    for name in ("jid", "server", "bot"):
        if not getattr(args, name):
            p.error("--%s (or SLIXCLIENT_%s) is required" % (name, name.upper()))
    if ":" not in args.server:
        p.error("--server is host:port")
    password = env("SLIXCLIENT_PASSWORD")
    if not password:
        p.error("set the environment variable SLIXCLIENT_PASSWORD")
    return args, password


if __name__ == "__main__":
    args, password = parse_args()
    try:
        result = asyncio.get_event_loop().run_until_complete(main(args, password))
    except Failure as e:
        print("slixclient: FAIL: %s" % e)
        sys.exit(1)
    except Exception as e:  # a library error: say what it was
        print("slixclient: FAIL: %s: %s" % (type(e).__name__, e))
        sys.exit(1)
    print("slixclient: ok: " + result)
