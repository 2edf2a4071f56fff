#!/usr/bin/env python3
"""Server time of a kiosk registration, measured over HTTP on loopback.

Signs in as admin, creates and pairs a kiosk, then registers N new visitors
(each with a photo, consent and two services) and prints the median
and 95th percentile of the request time. The photo is PHOTO (a JPEG file, sent as the
tablet sends its camera picture: a `data:image/jpeg` URL) or, without it, a 640x480 PNG of
noise (the worst case: nothing to compress, decoded and encoded again). With WORD, each
registration is followed by `GET /api/clients?q=WORD` as the admin, timed too: a client
search, the first call after a write.
Usage: [PHOTO=file.jpg] kiosk_registration.py BASE_URL ADMIN_PASSWORD [N [WORD]]
"""
import os
import json, statistics, struct, sys, time, urllib.request, uuid, zlib, base64, random

base, password = sys.argv[1], sys.argv[2]
count = int(sys.argv[3]) if len(sys.argv) > 3 else 100
search_word = sys.argv[4] if len(sys.argv) > 4 else None


def post(path, body, cookie=None, form=False):
    data = body.encode() if form else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method="POST")
    request.add_header("content-type", "application/x-www-form-urlencoded" if form else "application/json")
    request.add_header("accept", "application/json")
    if cookie:
        request.add_header("cookie", cookie)
    with urllib.request.urlopen(request) as response:
        return response.read(), response.headers.get_all("set-cookie") or []


def photo(width=640, height=480):
    """A camera-sized PNG with some texture, as a data URL."""
    rows = []
    for y in range(height):
        rows.append(b"\x00" + bytes((x * 7 + y * 3 + random.randrange(16)) % 256 for x in range(width * 3)))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(b"".join(rows), 6)) + chunk(b"IEND", b"")
    return "data:image/png;base64," + base64.b64encode(png).decode()


_, cookies = post("/api/login", {"login": "admin", "password": password})
session = next(c.split(";")[0] for c in cookies if c.startswith("avtosalon_session="))
body, _ = post("/rpc/create_device", "name=Bench+kiosk&branch_id=1&kind=kiosk", cookie=session, form=True)
code = json.loads(body)["code"]
_, cookies = post("/rpc/pair_kiosk", {"code": code})
kiosk = next(c.split(";")[0] for c in cookies if c.startswith("avtosalon_kiosk="))
if os.environ.get("PHOTO"):
    with open(os.environ["PHOTO"], "rb") as f:
        picture = "data:image/jpeg;base64," + base64.b64encode(f.read()).decode()
else:
    picture = photo()
print(f"photo data URL: {len(picture)} bytes")
times = []
searches = []
for i in range(count):
    setup, _ = post("/rpc/kiosk_info", {}, cookie=kiosk)
    submission = json.loads(setup)["submission"]
    form = {
        "submission": submission, "full_name": "Bench Mehmon", "phone": f"+99899{random.randrange(10**7):07d}",
        "birth_year": "1990", "gender": "male", "source": "walk_in", "car": "", "services": ["consultation", "test_drive"],
        "consent": True, "consent_version": json.loads(setup)["consent_version"], "language": "uz",
        "biometric": False, "photo": picture,
    }
    started = time.perf_counter()
    try:
        post("/rpc/kiosk_register", {"form": form}, cookie=kiosk)
    except urllib.error.HTTPError as error:  # a random phone may exist already
        if error.code != 409:
            raise
        continue
    times.append((time.perf_counter() - started) * 1000)
    if search_word:
        request = urllib.request.Request(f"{base}/api/clients?q={search_word}")
        request.add_header("cookie", session)
        started = time.perf_counter()
        with urllib.request.urlopen(request) as response:
            response.read()
        searches.append((time.perf_counter() - started) * 1000)
times.sort()
if searches:
    searches.sort()
    print(f"search {search_word!r} right after each registration: {len(searches)}, "
          f"median {statistics.median(searches):.1f} ms, p95 {searches[int(len(searches) * 0.95) - 1]:.1f} ms")
print(f"kiosk registrations: {len(times)}, median {statistics.median(times):.1f} ms, "
      f"p95 {times[int(len(times) * 0.95) - 1]:.1f} ms")
