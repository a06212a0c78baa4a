"""A minimal real SMTP server on 127.0.0.1 that keeps the messages it accepted.

``hold_next()`` makes it swallow the next message's final dot without answering (the sender blocks
mid-delivery) until ``release()``, which then drops that connection: the message counts as not delivered.
"""
from __future__ import annotations

import asyncio
import email
import email.policy
import threading

from support.tcp_proxy import free_port


class SmtpSink:
    def __init__(self):
        self.port = free_port()
        self.messages: list[email.message.EmailMessage] = []
        self.holding = threading.Event()
        self._hold = False
        self._released = None
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)

    async def _start(self):
        self._released = asyncio.Event()
        self._server = await asyncio.start_server(self._session, "127.0.0.1", self.port)

    async def _session(self, reader, writer):
        def say(line: str):
            writer.write(line.encode() + b"\r\n")
        try:
            say("220 ocop-test-sink ESMTP")
            while True:
                line = await reader.readline()
                if not line:
                    return
                verb = line.decode(errors="replace").strip().split(" ", 1)[0].upper()
                if verb == "EHLO":
                    say("250-ocop-test-sink")
                    say("250 8BITMIME")
                elif verb in ("HELO", "MAIL", "RCPT", "RSET", "NOOP"):
                    say("250 OK")
                elif verb == "DATA":
                    say("354 End data with <CR><LF>.<CR><LF>")
                    await writer.drain()
                    lines = []
                    while True:
                        data = await reader.readline()
                        if not data:
                            return
                        if data in (b".\r\n", b".\n"):
                            break
                        lines.append(data[1:] if data.startswith(b"..") else data)
                    with self._lock:
                        hold, self._hold = self._hold, False
                    if hold:
                        self.holding.set()
                        await self._released.wait()
                        return  # never answered: the sender must not count it as sent
                    with self._lock:
                        self.messages.append(email.message_from_bytes(b"".join(lines), policy=email.policy.default))
                    say("250 OK queued")
                elif verb == "QUIT":
                    say("221 Bye")
                    await writer.drain()
                    return
                else:
                    say("502 Command not implemented")
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()

    def hold_next(self) -> None:
        with self._lock:
            self._hold = True
        self.holding.clear()

    def release(self) -> None:
        self._loop.call_soon_threadsafe(self._released.set)

    def subjects(self) -> list[str]:
        with self._lock:
            return [str(m["Subject"]) for m in self.messages]

    def close(self) -> None:
        self.release()
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
