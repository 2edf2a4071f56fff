#!/usr/bin/env python3
"""The whole site as a showroom installs it (run by scripts/site-test.sh after
`scripts/install.sh` put it under WORK):

1. the server is started exactly as its systemd unit says (ExecStart,
   EnvironmentFile, WorkingDirectory), on a fresh data directory: HTTPS with the
   local authority, no demo data, the admin password the installer printed;
2. a tablet (Chromium trusting the authority through its own NSS database)
   opens the kiosk over HTTPS by a LAN name with its camera (Playwright,
   end2end/site/https.spec.ts);
3. two cameras are paired with `vision pair` and written into the installed
   vision.toml template: the server starts the vision program, which reports
   the faces in the videos; killed, it is started again;
4. SIGTERM to the server stops the server and the vision program together.

Usage: site_test.py WORK PASSWORD PLAIN_PORT TLS_PORT MEDIA_DIR
"""
import json, os, shlex, signal, sqlite3, ssl, subprocess, sys, time, urllib.request

work, password, plain_port, tls_port, media = sys.argv[1:6]
HTTP_TIMEOUT = 30
unit_path = os.path.join(work, "systemd", "avtosalon.service")
log_path = os.path.join(work, "server.log")


def fail(message):
    print(f"FAILED: {message}")
    try:
        print("--- server log (last 60 lines)")
        print("".join(open(log_path).readlines()[-60:]))
    except OSError:
        pass
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def wait_for(what, condition, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    fail(f"{what}: not within {seconds} s")


# The unit as systemd reads it.
unit = {}
for line in open(unit_path):
    if "=" in line and not line.lstrip().startswith("#"):
        key, value = line.strip().split("=", 1)
        unit[key] = value
env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}
for line in open(unit["EnvironmentFile"]):
    line = line.strip()
    if line and not line.startswith("#"):
        key, value = line.split("=", 1)
        env[key] = value
env["RUST_LOG"] = "info,sqlx=warn"
check(env.get("NO_DEMO_DATA") == "true", "a fresh install must start without demo data")
server = subprocess.Popen(shlex.split(unit["ExecStart"]), cwd=unit["WorkingDirectory"], env=env,
                          stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
data_dir = env["DATA_DIR"]


def plain(path):
    with urllib.request.urlopen(f"http://127.0.0.1:{plain_port}{path}", timeout=HTTP_TIMEOUT) as answer:
        return answer.read()


def health():
    try:
        return json.loads(plain("/healthz"))
    except OSError:
        check(server.poll() is None, f"the server exited with {server.returncode}")
        return None


wait_for("the installed server answering /healthz", health, 120)
check(health()["vision"] == "waiting_for_config", f"no vision.toml yet, so waiting: {health()}")
# A tablet fetches the authority over plain HTTP; from then on everything is HTTPS.
ca_path = os.path.join(work, "ca.crt")
with open(ca_path, "wb") as out:
    out.write(plain("/ca.crt"))
trust = ssl.create_default_context(cafile=ca_path)
base = f"https://localhost:{tls_port}"


def call(path, body=None, cookie=None, form=False, method=None):
    data = None
    if body is not None:
        data = body.encode() if form else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("accept", "application/json")
    if body is not None:
        request.add_header("content-type", "application/x-www-form-urlencoded" if form else "application/json")
    if cookie:
        request.add_header("cookie", cookie)
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT, context=trust) as answer:
        return json.loads(answer.read() or b"null"), answer.headers.get_all("set-cookie") or []


_, cookies = call("/api/login", {"login": "admin", "password": password})
admin = next(c.split(";")[0] for c in cookies if c.startswith("avtosalon_session="))
check(any("Secure" in c for c in cookies), f"the session cookie must be Secure over HTTPS: {cookies}")
clients, _ = call("/api/clients", cookie=admin)
check(clients["total"] == 0, f"a fresh install has no clients, found {clients['total']}")

# 2. The tablet, in Chromium, over HTTPS by a LAN name.
home = os.path.join(work, "tablet-home")
nssdb = os.path.join(home, ".pki", "nssdb")
os.makedirs(nssdb)
subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True)
subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "Avtosalon local CA", "-i", ca_path],
               check=True)
# The tablet's camera: a real face, as Chromium's fake capture device plays it (MJPEG: JPEG frames).
vision_bin = os.path.join(os.path.dirname(shlex.split(unit["ExecStart"])[0]), "vision")
frames = []
for second in (2.5, 3.0, 3.5):
    frame = os.path.join(work, f"face-{second}.jpg")
    subprocess.run([vision_bin, "frame", os.path.join(media, "cap12_edit.mp4"), "--at", str(second), "--out", frame],
                   check=True, timeout=120)
    frames.append(open(frame, "rb").read())
fake_video = os.path.join(work, "tablet-camera.mjpeg")
with open(fake_video, "wb") as out:
    for frame in frames * 5:
        out.write(frame)
spec = subprocess.run(["npx", "playwright", "test", "--config", "site.config.ts"], cwd="end2end", timeout=900,
                      env={**os.environ, "HOME": home, "E2E_SITE_URL": f"https://avtosalon.test:{tls_port}",
                           "E2E_PLAIN_PORT": plain_port, "E2E_ADMIN_PASSWORD": password,
                           "E2E_FAKE_VIDEO": fake_video})
check(spec.returncode == 0, "the tablet over HTTPS (end2end/site/https.spec.ts)")

# 3. Cameras: paired by the installed vision program, configured from the installed template.
# The branch the admin created in the browser, through the client the tablet registered there.
registered, _ = call("/api/clients", cookie=admin)
check(registered["total"] == 1, f"the tablet's registration is the only client: {registered['total']}")
branch = registered["items"][0]["branch_id"]
config = open(os.path.join(env["VISION_CONFIG"] + ".example")).read()
for role, camera_id, video in (("entrance", "door-in", "cap13_edit2.mp4"), ("exit", "door-out", "cap12_edit.mp4")):
    pairing, _ = call("/rpc/create_device",
                      f"name={camera_id}&branch_id={branch}&kind=camera&camera_role={role}", admin, form=True)
    paired = subprocess.run([vision_bin, "pair", "--server", f"http://127.0.0.1:{plain_port}", "--code", pairing["code"]],
                            check=True, capture_output=True, text=True, timeout=120)
    token = next(word for word in paired.stdout.split() if word.strip('"').startswith("kd_")).strip('"')
    # The template's camera block: its source and token filled in.
    block_start = config.index(f'id = "{camera_id}"')
    block_end = config.find("[[camera]]", block_start)
    block_end = len(config) if block_end < 0 else block_end
    block = config[block_start:block_end]
    source_line = next(line for line in block.splitlines() if line.startswith("source"))
    token_line = next(line for line in block.splitlines() if line.startswith("token"))
    block = block.replace(source_line, f'source = "{os.path.join(media, video)}"').replace(
        token_line, f'token = "{token}"')
    config = config[:block_start] + block + config[block_end:]
with open(env["VISION_CONFIG"] + ".part", "w") as out:
    out.write(config)
os.rename(env["VISION_CONFIG"] + ".part", env["VISION_CONFIG"])
wait_for("the server starting the vision program", lambda: health()["vision"] == "running", 30)


def vision_pids():
    pids = []
    for task in os.listdir(f"/proc/{server.pid}/task"):
        pids += open(f"/proc/{server.pid}/task/{task}/children").read().split()
    return [int(p) for p in pids if os.path.basename(os.readlink(f"/proc/{p}/exe")).startswith("vision")]


first = wait_for("the vision process under the server", vision_pids, 10)
database = os.path.join(data_dir, "avtosalon.db")


def camera_events():
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return db.execute("SELECT count(*) FROM camera_events").fetchone()[0]


wait_for("a camera event from the supervised vision program", camera_events, 120)
print(f"camera events stored: {camera_events()}")
os.kill(first[0], signal.SIGKILL)
wait_for("the vision program started again", lambda: health()["vision_restarts"] == 1
         and health()["vision"] == "running", 30)
second = wait_for("the new vision process", lambda: [p for p in vision_pids() if p not in first], 10)
print(f"vision {first[0]} killed; the server started it again as {second[0]}")
log = open(log_path).read()
check("camera program started" in log, "the server log tells when it starts the camera program")
# Its start-up line comes before any camera's: whichever door decides first.
check("vision::run: gallery:" in log, "the vision program's own lines are in the server's log")
check("kd_" not in log, "a camera token leaked into the server's log")

# 4. One stop for everything.
server.send_signal(signal.SIGTERM)
try:
    server.wait(timeout=30)
except subprocess.TimeoutExpired:
    fail("the server did not stop within 30 s of SIGTERM")
check(server.returncode == 0, f"the server exited with {server.returncode}")
wait_for("the vision program stopping with the server", lambda: not os.path.exists(f"/proc/{second[0]}")
         or open(f"/proc/{second[0]}/stat").read().split()[2] == "Z", 10)
print("site test: installed, HTTPS tablet with camera, cameras supervised, stopped together: ok")
