#!/usr/bin/env python3
"""Kiosks, cameras and managers at once against the release server, on loopback.

usage: load.py SERVER_BIN SOURCE_DB WORK_DIR [--scenarios 1,2,3] [--duration 60]
               [--kiosks 100] [--cameras 20] [--managers 50] [--port 3950]
               [--drain-timeout 3600] [--no-compression] [--keep]

The script runs the server itself, because scenario 3 kills and restarts it.
Each scenario starts from its own copy of SOURCE_DB (the 100,000-client bench
database, `server demo-data --clients 100000 --seed 42` then `server train`)
in WORK_DIR/<scenario>/, which is removed afterwards (the server log is kept
as WORK_DIR/<scenario>.log). Scenarios:

  1 normal         the load for DURATION seconds;
  2 telegram-down  the same with TELEGRAM_BOT_TOKEN set and TELEGRAM_API_URL on
                   a loopback port where nothing listens; the three demo
                   reception accounts (one per branch) have Telegram chats
                   linked (written into the copy before the start, as `/start
                   CODE` would). After the run a fake Bot API starts on that
                   port; the script waits until the outbox is empty and checks
                   that every notification reached every chat that wants it,
                   once, in outbox order;
  3 restart        the same as 1, but the server is SIGKILLed at DURATION/2 and
                   started again on the same data at once.

Simulated clients, each from its own loopback address (127.0.x.y, as the
server limits pairing and sign-in attempts per address), one keep-alive
HTTP/1.1 connection each:

  kiosks    paired by an admin like the settings page does; one visitor every
            5-15 s: kiosk_info, kiosk_lookup, then kiosk_check_in (a phone from
            the database, 40 %) or kiosk_register (a new phone; 10 % with a
            640x480 camera photo, 60 % a small one, 30 % none). A kiosk retries
            a failed step with the same submission id, as a visitor taps again;
            it keeps its phone checks under the server's 20 a minute.
  cameras   half entrance, half exit, paired over /api/vision/pair; one event
            every 1-3 s into an in-memory queue, sent in order and resent with
            the same key until answered (back-off 0.5 s doubling to 30 s on
            refused connections, 401/403/408/429 and 5xx, as vision/src/queue.rs);
            30 % of them name a client who opted in to face recognition.
  managers  50 staff accounts with the manager role, created over HTTP by the
            admin; each signs in and browses /, /clients, /clients?q=,
            /clients/{id}, /stats, /api/clients, /api/stats and
            /api/potential_buyers_ml with 1-3 s between pages.

Kiosks and managers ask for gzip/deflate like a browser on plain http; cameras
for no encoding, like the vision program.

The server runs with DATA_DIR, DATABASE_URL, BIND=127.0.0.1:PORT, ADMIN_PASSWORD,
NO_DEMO_DATA=1, RUST_LOG=warn and BACKUP_KEEP_DAYS=0, as scripts/bench.sh runs it.

Output: per scenario one line per kind (requests, errors, p50/p99/max of the
answered requests in ms, errors by class: `http NNN`; `refused`, nothing
listening; `cut`, the connection dropped; `cut, resent`, a kept-alive
connection dropped before the answer and the request sent again at once on a
new one; `timeout`) and a summary line; every failed attempt with its time and
request goes to WORK_DIR/<scenario>.errors.txt. After every scenario the server is
stopped and the database checked: every camera event a camera generated is in
camera_events exactly once with the answer it got, every answered kiosk
registration is stored once. Exits 1 when such a check (or scenario 2's
delivery check) fails; latency targets are reported, not asserted.
"""
import argparse
import asyncio
import base64
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ADMIN_PASSWORD = "bench-admin-pass"
MANAGER_PASSWORD = "load-manager-pass"
TELEGRAM_TOKEN = "123456:LOADTEST"
P99_TARGET_MS = 200.0
HEADER_ORDER = [
    "kiosk info", "kiosk lookup", "kiosk check-in", "kiosk register", "kiosk register 640x480",
    "camera event", "page /", "page /clients", "page /clients?q=", "page /clients/{id}",
    "page /stats", "api clients", "api stats", "api potential buyers", "manager sign-in",
]


# ---------------------------------------------------------------- HTTP client

class Transport(Exception):
    """No HTTP answer: `refused` (nobody listens), `cut` (connection dropped),
    `timeout`."""

    def __init__(self, kind, detail=""):
        super().__init__(f"{kind} {detail}".strip())
        self.kind = kind


class Conn:
    """One keep-alive HTTP/1.1 connection from a fixed loopback address."""

    def __init__(self, port, source, timeout=30.0):
        self.port, self.source, self.timeout = port, source, timeout
        self.reader = self.writer = None
        self.resent = False   # the last request went again on a fresh connection

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method, path, body=b"", headers=()):
        """(status, headers as list of (lower name, value), body)."""
        reused = self.writer is not None
        self.resent = False
        try:
            return await asyncio.wait_for(self._exchange(method, path, body, headers), self.timeout)
        except Transport as error:
            self.close()
            # A keep-alive connection the server closed while idle: once more, fresh.
            if reused and error.kind == "cut" and getattr(error, "before_answer", False):
                self.resent = True
                try:
                    return await asyncio.wait_for(self._exchange(method, path, body, headers), self.timeout)
                except Transport:
                    self.close()
                    raise
                except asyncio.TimeoutError:
                    self.close()
                    raise Transport("timeout")
            raise
        except asyncio.TimeoutError:
            self.close()
            raise Transport("timeout")

    async def _exchange(self, method, path, body, headers):
        if self.writer is None:
            try:
                self.reader, self.writer = await asyncio.open_connection(
                    "127.0.0.1", self.port, local_addr=(self.source, 0), limit=1 << 20)
            except ConnectionRefusedError:
                raise Transport("refused")
            except OSError as error:
                raise Transport("refused" if error.errno == 111 else "cut", str(error))
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", "User-Agent: load.py"]
        head += [f"{k}: {v}" for k, v in headers]
        if body or method == "POST":
            head.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        answered = False
        try:
            self.writer.write(data)
            await self.writer.drain()
            line = await self.reader.readline()
            if not line:
                raise ConnectionResetError("closed before the answer")
            answered = True
            status = int(line.split()[1])
            response_headers = []
            while True:
                line = await self.reader.readline()
                if line in (b"\r\n", b"\n"):
                    break
                if not line:
                    raise ConnectionResetError("closed in the headers")
                name, _, value = line.decode("latin1").partition(":")
                response_headers.append((name.strip().lower(), value.strip()))
            names = dict(response_headers)
            if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
                payload = b""
            elif names.get("transfer-encoding", "").lower() == "chunked":
                parts = []
                while True:
                    size = int((await self.reader.readline()).split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while (await self.reader.readline()) not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    parts.append(await self.reader.readexactly(size))
                    await self.reader.readexactly(2)
                payload = b"".join(parts)
            elif "content-length" in names:
                payload = await self.reader.readexactly(int(names["content-length"]))
            else:
                payload = await self.reader.read()
                self.close()
            if names.get("connection", "").lower() == "close":
                self.close()
            encoding = names.get("content-encoding", "").lower()
            try:
                if encoding == "gzip":
                    payload = zlib.decompress(payload, 16 + zlib.MAX_WBITS)
                elif encoding == "deflate":
                    try:
                        payload = zlib.decompress(payload)
                    except zlib.error:   # raw deflate, as some servers send it
                        payload = zlib.decompress(payload, -zlib.MAX_WBITS)
            except zlib.error as error:   # a body cut off by the connection closing
                self.close()
                raise Transport("cut", f"truncated {encoding} body: {error}")
            return status, response_headers, payload
        except (ConnectionError, asyncio.IncompleteReadError, OSError) as error:
            failure = Transport("cut", str(error))
            failure.before_answer = not answered
            raise failure


def cookie_of(headers, name):
    for key, value in headers:
        if key == "set-cookie" and value.startswith(name + "="):
            return value.split(";")[0]
    return None


# -------------------------------------------------------------- measurements

class Stats:
    def __init__(self):
        self.times = {}     # kind -> [ms] of 2xx answers
        self.errors = {}    # kind -> {class: count}
        self.counts = {}    # kind -> requests
        self.failures = []  # (wall time, kind, request, class): written to WORK/<scenario>.errors.txt
        self.recording = False

    def add(self, kind, ms, error=None, request="", sent_at=None):
        if not self.recording:
            return
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if error is not None:
            self.failures.append((sent_at or time.time(), kind, request, error))
        if error is None:
            self.times.setdefault(kind, []).append(ms)
        else:
            bucket = self.errors.setdefault(kind, {})
            bucket[error] = bucket.get(error, 0) + 1


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    index = max(0, min(len(sorted_values) - 1, int(-(-p * len(sorted_values) // 1)) - 1))
    return sorted_values[index]


async def timed(stats, kind, conn, method, path, body=b"", headers=(), ok=(200,)):
    """A request counted under `kind`: (status, headers, body) or raises Transport."""
    started, sent_at = time.perf_counter(), time.time()
    try:
        status, response_headers, payload = await conn.request(method, path, body, headers)
    except Transport as error:
        if conn.resent:
            stats.add(kind, 0, "cut, resent", f"{method} {path}", sent_at)
        stats.add(kind, 0, error.kind, f"{method} {path}", sent_at)
        raise
    if conn.resent:   # the server dropped a kept-alive connection: an attempt lost
        stats.add(kind, 0, "cut, resent", f"{method} {path}", sent_at)
    ms = (time.perf_counter() - started) * 1000
    stats.add(kind, ms, None if status in ok else f"http {status}",
              f"{method} {path} -> {payload[:200]!r}" if status not in ok else "", sent_at)
    return status, response_headers, payload


# What a browser on plain http asks for (br only over https); tablets and
# managers' browsers send it, the vision program (ureq without gzip) does not.
BROWSER_ENCODINGS = ("Accept-Encoding", "gzip, deflate")


def json_headers(cookie=None, bearer=None, browser=False):
    headers = [("Content-Type", "application/json"), ("Accept", "application/json")]
    if browser:
        headers.append(BROWSER_ENCODINGS)
    if cookie:
        headers.append(("Cookie", cookie))
    if bearer:
        headers.append(("Authorization", f"Bearer {bearer}"))
    return headers


# -------------------------------------------------------------------- images

def png(width, height, seed=0):
    """A PNG with some texture, like a camera frame."""
    rng = random.Random(seed)
    noise = bytes(rng.randrange(16) for _ in range(4096))
    rows = []
    for y in range(height):
        row = bytes((x * 7 + y * 3 + noise[(x * 31 + y * 17) % 4096]) % 256 for x in range(width * 3))
        rows.append(b"\x00" + row)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 6)) + chunk(b"IEND", b""))


# ------------------------------------------------------------------ the world

class World:
    """What the simulated clients share: the server's port, the database's
    phones and opted-in clients, and what they were answered."""

    def __init__(self, args, port, source_db):
        self.args, self.port = args, port
        self.stats = Stats()
        self.stop = asyncio.Event()          # no new visitors, events, pages
        db = sqlite3.connect(f"file:{source_db}?mode=ro", uri=True)
        self.known_phones = set(p for (p,) in db.execute("SELECT phone FROM clients WHERE phone IS NOT NULL"))
        rng = random.Random(7)
        self.returning = rng.sample(sorted(self.known_phones), 5000)
        self.opted_in = [i for (i,) in db.execute(
            "SELECT id FROM clients WHERE biometric_opt_in = TRUE AND erased_at IS NULL ORDER BY id")]
        self.client_ids = [i for (i,) in db.execute("SELECT id FROM clients ORDER BY random() LIMIT 5000")]
        self.names = [n.split()[0] for (n,) in db.execute(
            "SELECT full_name FROM clients ORDER BY random() LIMIT 200") if n]
        db.close()
        self.next_phone = rng.randrange(10 ** 6)
        self.next_name = 0
        self.inside = {1: [], 2: [], 3: []}   # clients a camera saw come in, per branch
        self.registered = []   # (submission, phone, client_id, visit_id) answered
        self.checked_in = []   # (submission, client_id, visit_id)
        self.unanswered = []   # submissions given up
        self.cameras = []      # Camera objects
        self.big_photo = "data:image/png;base64," + base64.b64encode(png(640, 480, 1)).decode()
        self.small_photo = "data:image/png;base64," + base64.b64encode(png(96, 96, 2)).decode()
        self.snapshot = base64.b64encode(png(112, 112, 3)).decode()

    def new_phone(self):
        while True:
            self.next_phone = (self.next_phone + 7919) % 10 ** 7
            phone = f"+99899{self.next_phone:07d}"
            if phone not in self.known_phones:
                self.known_phones.add(phone)
                return phone

    def new_name(self):
        self.next_name += 1
        n, letters = self.next_name, ""
        while n:
            n, r = divmod(n, 26)
            letters += "abcdefghijklmnopqrstuvwxyz"[r]
        return f"{random.choice(self.names or ['Mehmon'])} Yuk{letters}ova"


async def sleep_or_stop(world, seconds):
    try:
        await asyncio.wait_for(world.stop.wait(), seconds)
    except asyncio.TimeoutError:
        pass


async def with_retries(world, kind, conn, method, path, body, headers, give_up_after=90.0):
    """A kiosk step repeated (same body, same submission id) until answered:
    returns (status, payload), or None when it gave up."""
    deadline = time.monotonic() + give_up_after
    wait = 0.5
    while True:
        try:
            status, _, payload = await timed(world.stats, kind, conn, method, path, body, headers)
            if status < 500 and status != 429:
                return status, payload
        except Transport:
            pass
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(wait)
        wait = min(wait * 2, 8.0)


class Kiosk:
    def __init__(self, world, n, cookie, source):
        self.world, self.n, self.cookie = world, n, cookie
        self.conn = Conn(world.port, source)
        self.phone_checks = []   # times of lookups and check-ins (server: 20 a minute)

    async def pace_phone_check(self):
        while True:
            now = time.monotonic()
            self.phone_checks = [t for t in self.phone_checks if now - t < 62]
            if len(self.phone_checks) < 18:
                self.phone_checks.append(now)
                return
            await asyncio.sleep(62 - (now - self.phone_checks[0]))

    async def run(self):
        w = self.world
        await asyncio.sleep(random.uniform(0, 10))
        headers = json_headers(self.cookie, browser=True)
        while not w.stop.is_set():
            started = time.monotonic()
            await self.visitor(headers)
            await sleep_or_stop(w, max(0.0, random.uniform(5, 15) - (time.monotonic() - started)))
        self.conn.close()

    async def visitor(self, headers):
        w = self.world
        answer = await with_retries(w, "kiosk info", self.conn, "POST", "/rpc/kiosk_info", b"{}", headers)
        if answer is None or answer[0] != 200:
            return
        setup = json.loads(answer[1])
        submission = setup["submission"]
        returning = random.random() < 0.4
        phone = random.choice(w.returning) if returning else w.new_phone()
        await self.pace_phone_check()
        answer = await with_retries(w, "kiosk lookup", self.conn, "POST", "/rpc/kiosk_lookup",
                                    json.dumps({"phone": phone}).encode(), headers)
        if answer is None or answer[0] != 200:
            return
        known = json.loads(answer[1])
        if known is not None:
            await self.pace_phone_check()
            body = {"submission": submission, "phone": phone, "services": random.sample(
                ["consultation", "test_drive", "credit", "trade_in"], random.randint(1, 2)),
                "consent_version": None if known["consent_current"] else setup["consent_version"],
                "language": random.choice(["uz", "ru", "en"])}
            answer = await with_retries(w, "kiosk check-in", self.conn, "POST", "/rpc/kiosk_check_in",
                                        json.dumps(body).encode(), headers)
            if answer is None:
                w.unanswered.append(submission)
            elif answer[0] == 200:
                done = json.loads(answer[1])
                w.checked_in.append((submission, done["client_id"], done["visit_id"]))
            return
        roll = random.random()
        photo = w.big_photo if roll < 0.1 else w.small_photo if roll < 0.7 else None
        form = {"submission": submission, "full_name": w.new_name(), "phone": phone,
                "birth_year": str(random.randint(1960, 2005)), "gender": random.choice(["male", "female"]),
                "source": random.choice(["walk_in", "instagram", "telegram", "referral"]), "car": "",
                "services": ["consultation"] + (["test_drive"] if random.random() < 0.4 else []),
                "consent": True, "consent_version": setup["consent_version"], "language": "uz",
                "biometric": random.random() < 0.5, "photo": photo}
        kind = "kiosk register 640x480" if photo is w.big_photo else "kiosk register"
        answer = await with_retries(w, kind, self.conn, "POST", "/rpc/kiosk_register",
                                    json.dumps({"form": form}).encode(), headers)
        if answer is None:
            w.unanswered.append(submission)
        elif answer[0] == 200:
            done = json.loads(answer[1])
            w.registered.append((submission, phone, done["client_id"], done["visit_id"]))


class Camera:
    def __init__(self, world, n, device_id, branch, role, token, source):
        self.world, self.n, self.device_id, self.branch, self.role = world, n, device_id, branch, role
        self.token = token
        self.conn = Conn(world.port, source, timeout=15.0)
        self.queue = []        # events not yet answered, oldest first
        self.generated = []    # every key, in order
        self.answers = {}      # key -> (event_id, visit_id)
        self.wake = asyncio.Event()
        self.max_delay = 0.0   # seconds from an event to its answer

    async def generate(self):
        w = self.world
        await asyncio.sleep(random.uniform(0, 3))
        while not w.stop.is_set():
            event = {"key": str(uuid.uuid4()), "kind": "enter" if self.role == "entrance" else "exit",
                     "occurred_at": int(time.time() * 1000), "client_id": None, "similarity": None,
                     "track": f"cam-{self.n}-{len(self.generated)}", "snapshot": w.snapshot}
            inside = w.inside[self.branch]
            if self.role == "entrance" and random.random() < 0.3:
                client = random.choice(w.opted_in)
                event["client_id"], event["similarity"] = client, round(random.uniform(0.6, 0.95), 3)
                inside.append(client)
            elif self.role == "exit" and inside and random.random() < 0.3:
                client = inside.pop(random.randrange(len(inside)))
                event["client_id"], event["similarity"] = client, round(random.uniform(0.6, 0.95), 3)
            self.queue.append((time.monotonic(), event))
            self.generated.append(event["key"])
            self.wake.set()
            await sleep_or_stop(w, random.uniform(1, 3))

    async def send(self, until):
        """Sends the queue in order until `until()` says stop and it is empty."""
        w = self.world
        backoff = 0.5
        headers = json_headers(bearer=self.token)
        while True:
            if not self.queue:
                if until():
                    break
                self.wake.clear()
                try:
                    await asyncio.wait_for(self.wake.wait(), 0.5)
                except asyncio.TimeoutError:
                    pass
                continue
            queued_at, event = self.queue[0]
            try:
                status, _, payload = await timed(w.stats, "camera event", self.conn, "POST", "/api/vision/events",
                                                 json.dumps(event).encode(), headers)
            except Transport:
                status = None
            if status == 200:
                answer = json.loads(payload)
                self.answers[event["key"]] = (answer["event_id"], answer["visit_id"])
                self.queue.pop(0)
                self.max_delay = max(self.max_delay, time.monotonic() - queued_at)
                backoff = 0.5
            elif status is None or status in (401, 403, 408, 429) or status >= 500:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
            else:   # refused as invalid: the real program sets it aside
                self.queue.pop(0)
        self.conn.close()


PAGES = [  # (weight, kind, path maker)
    (20, "page /", lambda w: "/"),
    (12, "page /clients", lambda w: "/clients"),
    (14, "page /clients?q=", lambda w: "/clients?q=" + random.choice(
        ["90%20123", "aziz", "dilnoza", "93", "karimov", "%2B99890", "olim", "77%20555", "nodira", "rustam"])),
    (20, "page /clients/{id}", lambda w: f"/clients/{random.choice(w.client_ids)}"),
    (10, "page /stats", lambda w: "/stats"),
    (10, "api clients", lambda w: "/api/clients?page_size=25" + random.choice(["", "&page=2", "&sort=last_visit"])),
    (7, "api stats", lambda w: "/api/stats"),
    (7, "api potential buyers", lambda w: "/api/potential_buyers_ml"),
]


class Manager:
    def __init__(self, world, login, source):
        self.world, self.login = world, login
        self.conn = Conn(world.port, source)
        self.cookie = None

    async def sign_in(self):
        body = json.dumps({"login": self.login, "password": MANAGER_PASSWORD}).encode()
        for attempt in range(20):
            try:
                status, headers, _ = await timed(self.world.stats, "manager sign-in", self.conn, "POST",
                                                 "/api/login", body, json_headers())
                if status == 200:
                    self.cookie = cookie_of(headers, "avtosalon_session")
                    return True
            except Transport:
                pass
            await asyncio.sleep(1 + attempt)
        return False

    async def run(self):
        w = self.world
        await asyncio.sleep(random.uniform(0, 3))
        weights = [p[0] for p in PAGES]
        while not w.stop.is_set():
            _, kind, make = random.choices(PAGES, weights)[0]
            try:
                status, headers, _ = await timed(w.stats, kind, self.conn, "GET", make(w),
                                                 headers=[("Cookie", self.cookie), ("Accept", "text/html,application/json"),
                                                          BROWSER_ENCODINGS])
                location = dict(headers).get("location", "")
                if status == 401 or (status in (302, 303, 307) and location.startswith("/login")):
                    await self.sign_in()   # the session was lost: sign in again
            except Transport:
                pass
            await sleep_or_stop(w, random.uniform(1, 3))
        self.conn.close()


# ------------------------------------------------------------ server process

class Server:
    def __init__(self, binary, data_dir, db_path, port, log_path, env_extra):
        self.binary, self.data_dir, self.db_path, self.port = binary, data_dir, db_path, port
        self.log_path, self.env_extra = log_path, env_extra
        self.process = None
        self.peak_hwm_kb = 0
        self.cpu_before = 0.0   # CPU seconds of processes killed or stopped earlier

    def cpu_seconds(self):
        """User + system CPU time of every process this object started."""
        try:
            with open(f"/proc/{self.process.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return self.cpu_before + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, AttributeError, IndexError):
            return self.cpu_before

    def start(self):
        env = dict(os.environ, DATA_DIR=self.data_dir, DATABASE_URL=f"sqlite://{self.db_path}",
                   BIND=f"127.0.0.1:{self.port}", ADMIN_PASSWORD=ADMIN_PASSWORD, NO_DEMO_DATA="1",
                   RUST_LOG="warn", **self.env_extra)
        # Measure the load, not the nightly backup a start may take (as bench.sh).
        env.setdefault("BACKUP_KEEP_DAYS", "0")
        for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_API_URL"):
            if name not in self.env_extra:
                env.pop(name, None)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([self.binary], env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def status(self, field):
        try:
            with open(f"/proc/{self.process.pid}/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except (OSError, AttributeError):
            pass
        return 0

    def kill(self):
        self.peak_hwm_kb = max(self.peak_hwm_kb, self.status("VmHWM"))
        self.cpu_before = self.cpu_seconds()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        self.peak_hwm_kb = max(self.peak_hwm_kb, self.status("VmHWM"))
        self.cpu_before = self.cpu_seconds()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return False
        return True


async def healthy(port, within=120.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        conn = Conn(port, "127.0.0.1", timeout=2.0)
        try:
            status, _, _ = await conn.request("GET", "/healthz")
            if status == 200:
                return True
        except Transport:
            pass
        finally:
            conn.close()
        await asyncio.sleep(0.05)
    return False


async def sample_rss(server, samples, stop):
    while not stop.is_set():
        samples.append(server.status("VmRSS"))
        server.peak_hwm_kb = max(server.peak_hwm_kb, server.status("VmHWM"))
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except asyncio.TimeoutError:
            pass


# --------------------------------------------------------------- fake Telegram

class FakeTelegram:
    """The Bot API methods the bot uses; records every message it is sent."""

    def __init__(self, port):
        self.sent = []   # (time, chat_id, text, photo)
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                method = self.path.rsplit("/", 1)[-1].lower()
                kind = self.headers.get("content-type", "")
                if kind.startswith("multipart/"):
                    params = multipart_fields(body, kind)
                elif body:
                    params = json.loads(body)
                else:
                    params = {}
                if method == "getme":
                    result = {"id": 42, "is_bot": True, "first_name": "Avtosalon", "username": "avtosalon_load_bot",
                              "can_join_groups": False, "can_read_all_group_messages": False,
                              "supports_inline_queries": False, "has_main_web_app": False}
                elif method == "getupdates":
                    time.sleep(min(float(params.get("timeout") or 0), 0.5))   # a long poll, briefly
                    result = []
                elif method in ("sendmessage", "sendphoto"):
                    chat = int(params.get("chat_id"))
                    text = params.get("text") or params.get("caption") or ""
                    with fake.lock:
                        fake.sent.append((time.time(), chat, text, method == "sendphoto"))
                        number = len(fake.sent)
                    result = {"message_id": number, "date": int(time.time()),
                              "chat": {"id": chat, "type": "private"}, "text": text}
                else:
                    return self.reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                self.reply(200, {"ok": True, "result": result})

            do_GET = do_POST

            def reply(self, status, value):
                data = json.dumps(value).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except ConnectionError:   # the bot gave up a long poll (the server stopping)
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.started = time.time()
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def multipart_fields(body, content_type):
    boundary = re.search(r'boundary="?([^";]+)"?', content_type)
    fields = {}
    if not boundary:
        return fields
    for part in body.split(b"--" + boundary.group(1).encode()):
        head, _, value = part.partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]+)"', head)
        if not name or b"filename=" in head:
            continue
        fields[name.group(1).decode()] = value.rstrip(b"\r\n").decode("utf8", "replace")
    return fields


# ------------------------------------------------------------------- scenario

def machine_busy_seconds():
    """CPU seconds all processors spent on anything but idle and I/O wait."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_database(source, target):
    if os.path.exists(source + "-wal") and os.path.getsize(source + "-wal") > 0:
        src, dst = sqlite3.connect(f"file:{source}?mode=ro", uri=True), sqlite3.connect(target)
        src.backup(dst)
        src.close()
        dst.close()
    else:
        shutil.copyfile(source, target)


async def admin_setup(world, args):
    """Signs the admin in, creates the managers and devices; returns the
    kiosks, cameras and managers, paired and signed in."""
    port = world.port
    admin = Conn(port, "127.0.0.1")
    status, headers, body = await admin.request(
        "POST", "/api/login", json.dumps({"login": "admin", "password": ADMIN_PASSWORD}).encode(), json_headers())
    assert status == 200, (status, body)
    session = cookie_of(headers, "avtosalon_session")
    form = [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json"), ("Cookie", session)]
    # The settings page's form says where create_staff lives (server functions
    # without an explicit endpoint carry a hash in their path).
    status, _, page = await admin.request("GET", "/settings", headers=[("Cookie", session)])
    found = re.search(rb'action="(/rpc/create_staff[0-9]*)"', page)
    assert status == 200 and found, "no create_staff form on /settings"
    create_staff = found.group(1).decode()
    managers = []
    for i in range(args.managers):
        login = f"load.manager{i + 1:02d}"
        body = f"login={login}&full_name=Load+Manager&role=manager&branch_id=&password={MANAGER_PASSWORD}".encode()
        status, _, answer = await admin.request("POST", create_staff, body, form)
        assert status == 200, (status, answer)
        managers.append(Manager(world, login, f"127.0.2.{i + 2}"))

    async def create_device(name, branch, kind, role=""):
        body = f"name={name}&branch_id={branch}&kind={kind}&camera_role={role}".encode()
        status, _, answer = await admin.request("POST", "/rpc/create_device", body, form)
        assert status == 200, (status, answer)
        answer = json.loads(answer)
        return answer["device_id"], answer["code"]

    kiosks = []
    for i in range(args.kiosks):
        branch = i % 3 + 1
        _, code = await create_device(f"Kiosk+{i + 1}", branch, "kiosk")
        source = f"127.0.3.{i + 2}"
        conn = Conn(port, source)
        status, headers, answer = await conn.request("POST", "/rpc/pair_kiosk", json.dumps({"code": code}).encode(),
                                                     json_headers())
        conn.close()
        assert status == 200, (status, answer)
        kiosks.append(Kiosk(world, i, cookie_of(headers, "avtosalon_kiosk"), source))
    cameras = []
    for i in range(args.cameras):
        branch, role = (i // 2) % 3 + 1, ("entrance", "exit")[i % 2]
        device_id, code = await create_device(f"Camera+{i + 1}", branch, "camera", role)
        source = f"127.0.4.{i + 2}"
        conn = Conn(port, source)
        status, _, answer = await conn.request("POST", "/api/vision/pair", json.dumps({"code": code}).encode(),
                                               json_headers())
        conn.close()
        assert status == 200, (status, answer)
        cameras.append(Camera(world, i, device_id, branch, role, json.loads(answer)["token"], source))
    admin.close()
    # Managers sign in four at a time (the server hashes at most four passwords at once).
    gate = asyncio.Semaphore(4)

    async def sign_in(manager):
        async with gate:
            return await manager.sign_in()

    assert all(await asyncio.gather(*(sign_in(m) for m in managers))), "a manager could not sign in"
    return kiosks, cameras, managers


def link_reception_chats(db_path):
    """The demo reception accounts (one per branch) get a Telegram chat, as
    `/start CODE` would link them; English, so the texts are known."""
    db = sqlite3.connect(db_path)
    db.execute("UPDATE staff SET telegram_chat_id = 700000000 + id, language = 'en' WHERE role = 'reception'")
    chats = {chat: (staff, branch, kinds) for staff, chat, branch, kinds in db.execute(
        "SELECT id, telegram_chat_id, branch_id, notify_kinds FROM staff WHERE telegram_chat_id IS NOT NULL")}
    db.commit()
    db.close()
    return chats


def check_exactly_once(db_path, world, problems):
    """Every generated camera event once, with its answer; every answered
    registration and check-in stored once with its answer."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    generated = answered = 0
    for camera in world.cameras:
        rows = {}
        for key, event_id, visit_id in db.execute(
                "SELECT event_key, id, visit_id FROM camera_events WHERE device_id = ?", (camera.device_id,)):
            rows.setdefault(key, []).append((event_id, visit_id))
        generated += len(camera.generated)
        answered += len(camera.answers)
        for key in camera.generated:
            found = rows.pop(key, [])
            if len(found) != 1:
                problems.append(f"camera {camera.n}: event {key} stored {len(found)} times")
            elif key in camera.answers and camera.answers[key] != found[0]:
                problems.append(f"camera {camera.n}: event {key} answered {camera.answers[key]}, stored {found[0]}")
        for key in rows:
            problems.append(f"camera {camera.n}: stored event {key} was never generated")
        if camera.queue:
            problems.append(f"camera {camera.n}: {len(camera.queue)} events never answered")
    orphans = db.execute("SELECT COUNT(*) FROM camera_events e WHERE e.visit_id IS NOT NULL "
                         "AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.id = e.visit_id)").fetchone()[0]
    if orphans:
        problems.append(f"{orphans} camera events point to no visit")
    submissions = {}
    for submission, client_id, visit_id in db.execute(
            "SELECT submission_id, client_id, visit_id FROM kiosk_submissions"):
        submissions.setdefault(submission, []).append((client_id, visit_id))
    for submission, phone, client_id, visit_id in world.registered:
        if submissions.get(submission) != [(client_id, visit_id)]:
            problems.append(f"registration {submission}: answered {(client_id, visit_id)}, "
                            f"stored {submissions.get(submission)}")
        count = db.execute("SELECT COUNT(*) FROM clients WHERE phone = ?", (phone,)).fetchone()[0]
        if count != 1:
            problems.append(f"registration {submission}: {count} clients with phone {phone}")
    for submission, client_id, visit_id in world.checked_in:
        if submissions.get(submission) != [(client_id, visit_id)]:
            problems.append(f"check-in {submission}: answered {(client_id, visit_id)}, "
                            f"stored {submissions.get(submission)}")
    db.close()
    return generated, answered


def check_deliveries(db_path, chats, fake, problems):
    """Every outbox row sent; each chat that wants it got it once, in outbox order."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    rows = db.execute(
        "SELECT o.id, o.kind, o.branch_id, o.created_at, o.sent_at, c.full_name, c.phone, b.utc_offset_minutes "
        "FROM notification_outbox o LEFT JOIN clients c ON c.id = o.client_id "
        "LEFT JOIN branches b ON b.id = o.branch_id ORDER BY o.id").fetchall()
    delivered = {(o, s) for o, s in db.execute("SELECT outbox_id, staff_id FROM notification_deliveries")}
    unsent = [r[0] for r in rows if r[4] is None]
    if unsent:
        problems.append(f"{len(unsent)} notifications never sent (first id {unsent[0]})")
    by_chat = {}
    for _, chat, text, photo in fake.sent:
        by_chat.setdefault(chat, []).append(text)
    total = 0
    for chat, (staff, branch, kinds) in sorted(chats.items()):
        expected = [r for r in rows if (branch is None or r[2] is None or r[2] == branch)
                    and r[1] in kinds.split(",")]
        got = by_chat.get(chat, [])
        total += len(got)
        missing = [r[0] for r in expected if (r[0], staff) not in delivered]
        if missing:
            problems.append(f"chat {chat}: {len(missing)} notifications without a delivery (first id {missing[0]})")
        if len(got) != len(expected):
            problems.append(f"chat {chat}: {len(got)} messages received, {len(expected)} expected")
        for i, (row, text) in enumerate(zip(expected, got)):
            if not matches(row, text):
                problems.append(f"chat {chat}: message {i + 1} is not outbox row {row[0]} ({row[1]}): {text[:80]!r}")
                break
    db.close()
    return len(rows), total


def matches(row, text):
    """Whether an English notification text is the one for this outbox row."""
    _, kind, _, created_at, _, name, phone, offset = row
    if kind == "new_client":
        return text.startswith("New client registered") and phone is not None and phone in text
    if kind == "returning_client":
        return name is not None and text.startswith(f"{name} is back")
    if kind == "client_left":
        return name is not None and text.startswith(f"{name} left after")
    if kind == "hot_lead":
        return text.startswith("Hot lead:") and (name or "") in text
    if kind == "unknown_visitor":
        local = time.strftime("%H:%M", time.gmtime(created_at + (offset if offset is not None else 300) * 60))
        return text.startswith("Unknown visitor at the entrance") and local in text
    if kind == "daily_summary":
        return text.startswith("Day summary")
    return True


async def scenario(args, number):
    """One scenario; whatever happens, the server it started does not outlive it."""
    with socket.socket() as probe:
        # As a server binds (connections in TIME_WAIT do not count; a listener does).
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", args.port))
        except OSError:
            problem = f"port {args.port} is taken: another server is running there (--port)"
            print("  FAILED:", problem)
            return [problem]
    started = []
    try:
        return await run_scenario(args, number, started)
    finally:
        for server in started:
            if server.process is not None and server.process.poll() is None:
                server.process.kill()
                server.process.wait()


def server_log_summary(path):
    warnings = errors = panics = 0
    with open(path, errors="replace") as f:
        for line in f:
            line = re.sub(r"\x1b\[[0-9;]*m", "", line)
            if " WARN " in line:
                warnings += 1
            elif " ERROR " in line:
                errors += 1
            if "panicked" in line:
                panics += 1
    return warnings, errors, panics


async def run_scenario(args, number, started):
    name = {1: "normal", 2: "telegram-down", 3: "restart"}[number]
    work = os.path.join(args.work, name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    db_path = os.path.join(work, "bench.db")
    log_path = os.path.join(args.work, f"{name}.log")
    if os.path.exists(log_path):
        os.remove(log_path)
    copy_database(args.source_db, db_path)
    env, chats, tg_port = {}, {}, None
    if number == 2:
        chats = link_reception_chats(db_path)
        tg_port = free_port()   # nothing listens here until the run is over
        env = {"TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN, "TELEGRAM_API_URL": f"http://127.0.0.1:{tg_port}"}
    headline = {1: "normal", 2: "Telegram down for the whole run, delivered afterwards",
                3: f"server SIGKILLed at {args.duration / 2:.0f} s and restarted"}[number]
    print(f"== scenario {number}: {headline} ({args.duration:.0f} s, {args.kiosks} kiosks, "
          f"{args.cameras} cameras, {args.managers} managers)", flush=True)
    port = args.port
    world = World(args, port, db_path)
    server = Server(args.server, work, db_path, port, log_path, env)
    started.append(server)
    server.start()
    if not await healthy(port):
        print("the server did not start; log:", open(log_path).read()[-2000:])
        return ["server did not start"]
    kiosks, cameras, managers = await admin_setup(world, args)
    world.cameras = cameras
    problems, samples, sampling_done = [], [], asyncio.Event()
    sampler = asyncio.create_task(sample_rss(server, samples, sampling_done))
    world.stats.recording = True
    run_started = time.monotonic()
    cpu_at_start = (server.cpu_seconds(), time.process_time(), machine_busy_seconds())
    stop_sending = [False]
    tasks = [asyncio.create_task(k.run()) for k in kiosks]
    tasks += [asyncio.create_task(m.run()) for m in managers]
    tasks += [asyncio.create_task(c.generate()) for c in cameras]
    senders = [asyncio.create_task(c.send(lambda: stop_sending[0])) for c in cameras]
    downtime = None
    if number == 3:
        await asyncio.sleep(args.duration / 2)
        killed = time.monotonic()
        server.kill()
        server.start()
        if not await healthy(port):
            problems.append("the server did not come back after the kill")
        downtime = time.monotonic() - killed
        await asyncio.sleep(max(0.0, run_started + args.duration - time.monotonic()))
    else:
        await asyncio.sleep(args.duration)
    world.stop.set()
    await asyncio.gather(*tasks)
    stop_sending[0] = True
    try:
        await asyncio.wait_for(asyncio.gather(*senders), 180)
    except asyncio.TimeoutError:
        problems.append("camera queues did not drain within 180 s")
    wall = time.monotonic() - run_started
    cpu = [(now - then) / wall for now, then in
           zip((server.cpu_seconds(), time.process_time(), machine_busy_seconds()), cpu_at_start)]
    world.stats.recording = False
    sampling_done.set()
    await sampler
    rss_end = server.status("VmRSS")

    drain = None
    if number == 2:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        queued = db.execute("SELECT COUNT(*) FROM notification_outbox WHERE sent_at IS NULL").fetchone()[0]
        early = db.execute("SELECT COUNT(*) FROM notification_deliveries").fetchone()[0]
        if early:
            problems.append(f"{early} deliveries recorded while Telegram was down")
        fake = FakeTelegram(tg_port)
        fake.start()
        deadline = time.monotonic() + args.drain_timeout
        last_report = time.monotonic()
        while time.monotonic() < deadline:
            left = db.execute("SELECT COUNT(*) FROM notification_outbox WHERE sent_at IS NULL").fetchone()[0]
            if left == 0:
                break
            if time.monotonic() - last_report >= 120:
                last_report = time.monotonic()
                print(f"   … {left} of {queued} notifications still queued, {len(fake.sent)} messages sent, "
                      f"{time.time() - fake.started:.0f} s after Telegram came back", flush=True)
            await asyncio.sleep(1)
        db.close()
        drained_at = time.time()
        await asyncio.sleep(3)   # anything sent twice would arrive now
        times = [t for t, *_ in fake.sent]
        drain = {"queued": queued, "first": (min(times) - fake.started) if times else None,
                 "last": (max(times) - fake.started) if times else None, "until_empty": drained_at - fake.started}

    stopped_cleanly = server.stop()
    if not stopped_cleanly:
        problems.append("the server did not stop within 20 s of SIGTERM")
    if number == 2:
        fake.close()
        with open(os.path.join(args.work, f"{name}.telegram.json"), "w") as f:
            json.dump({"started": fake.started, "sent": fake.sent}, f, ensure_ascii=False, indent=0)
        outbox_rows, messages = check_deliveries(db_path, chats, fake, problems)
    generated, answered = check_exactly_once(db_path, world, problems)
    if world.unanswered:
        problems.append(f"{len(world.unanswered)} kiosk submissions never answered")

    # Report.
    stats = world.stats
    with open(os.path.join(args.work, f"{name}.errors.txt"), "w") as f:
        f.write("# sent at (UTC), kind, what went wrong, request\n")
        for at, kind, request, error in sorted(stats.failures):
            stamp = time.strftime("%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1000):03d}Z"
            f.write(f"{stamp}  {kind}  {error}  {request}\n")
    requests = sum(stats.counts.values())
    http_errors = transport = 0
    print(f"{'kind':<24}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}  errors by class")
    for kind in HEADER_ORDER:
        if kind not in stats.counts:
            continue
        times = sorted(stats.times.get(kind, []))
        errs = stats.errors.get(kind, {})
        http_errors += sum(v for k, v in errs.items() if k.startswith("http"))
        transport += sum(v for k, v in errs.items() if not k.startswith("http"))
        p99 = percentile(times, 0.99)
        flag = " !" if p99 > P99_TARGET_MS else "  "
        detail = ", ".join(f"{k}: {v}" for k, v in sorted(errs.items()))
        print(f"{kind:<24}{stats.counts[kind]:>9}{sum(errs.values()):>8}{percentile(times, 0.5):>9.1f}"
              f"{p99:>9.1f}{max(times) if times else float('nan'):>9.1f}{flag}{detail}")
    peak = max(samples) if samples else 0
    warnings, errors, panics = server_log_summary(log_path)
    summary = (f"summary: {requests} requests in {wall:.0f} s (load {args.duration:.0f} s + wind-down; {requests / wall:.1f}/s), {http_errors} HTTP errors, "
               f"{transport} without answer; RSS peak {peak / 1024:.0f} MB (VmHWM {server.peak_hwm_kb / 1024:.0f} MB), "
               f"end {rss_end / 1024:.0f} MB; CPU (cores): server {cpu[0]:.2f}, load.py {cpu[1]:.2f}, "
               f"everything else {max(0.0, cpu[2] - cpu[0] - cpu[1]):.2f}; events {answered}/{generated} answered, "
               f"{'each stored once' if not [p for p in problems if 'event' in p] else 'NOT each stored once'}; "
               f"{len(world.registered)} registrations, {len(world.checked_in)} check-ins")
    if number == 3:
        delays = max((c.max_delay for c in cameras), default=0)
        summary += f"; downtime {downtime:.1f} s, longest event wait {delays:.1f} s"
    if number == 2 and drain:
        first = f"{drain['first']:.1f}" if drain["first"] is not None else "-"
        summary += (f"; outbox {drain['queued']} queued at the end of the run ({outbox_rows} rows in all), "
                    f"{messages} messages to {len(chats)} chats, first {first} s and empty "
                    f"{drain['until_empty']:.0f} s after Telegram came back, "
                    f"{'each once and in order' if not [p for p in problems if 'chat' in p or 'notif' in p] else 'NOT each once in order'}")
    summary += f"; server log: {warnings} WARN, {errors} ERROR, {panics} panics ({log_path})"
    print(summary)
    for problem in problems[:20]:
        print("  FAILED:", problem)
    if len(problems) > 20:
        print(f"  … and {len(problems) - 20} more")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return problems


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("server", help="the release server binary")
    parser.add_argument("source_db", help="the 100,000-client database (copied per scenario)")
    parser.add_argument("work", help="a directory for the copies and server logs")
    parser.add_argument("--scenarios", default="1,2,3")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--kiosks", type=int, default=100)
    parser.add_argument("--cameras", type=int, default=20)
    parser.add_argument("--managers", type=int, default=50)
    parser.add_argument("--port", type=int, default=3950)
    parser.add_argument("--drain-timeout", type=float, default=3600.0,
                        help="seconds to wait for the Telegram outbox to empty (scenario 2)")
    parser.add_argument("--keep", action="store_true", help="keep each scenario's database copy")
    parser.add_argument("--no-compression", action="store_true",
                        help="kiosks and managers ask for no Accept-Encoding (uncompressed answers)")
    args = parser.parse_args()
    args.work = os.path.abspath(args.work)
    if args.no_compression:
        global BROWSER_ENCODINGS
        BROWSER_ENCODINGS = ("Accept-Encoding", "identity")
    args.source_db = os.path.abspath(args.source_db)
    os.makedirs(args.work, exist_ok=True)
    failed = False
    for number in [int(s) for s in args.scenarios.split(",") if s.strip()]:
        problems = await scenario(args, number)
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
