import { chromium, expect, test } from "@playwright/test";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../chromium";
import { hydrated, screenshot, signIn } from "./helpers";

// Made by scripts/e2e.sh: frames of the returning man's second webcam session as the
// tablet's camera, and the vision program that answers the kiosk.
const FACE_VIDEO = process.env.E2E_FACE_VIDEO ?? "";
const VISION_BIN = process.env.E2E_VISION_BIN ?? "";

test("a returning client who allowed face recognition is greeted by name at the kiosk and checks in with one tap", async ({
  page,
  baseURL,
}) => {
  test.skip(!FACE_VIDEO || !VISION_BIN, "needs the face video and the vision program (make e2e)");
  test.setTimeout(120_000);
  await signIn(page);
  const device = async (body: string) => {
    const reply = await page.request.post("/rpc/create_device", {
      headers: { "content-type": "application/x-www-form-urlencoded" },
      data: body,
    });
    expect(reply.ok()).toBeTruthy();
    return (await reply.json()).code as string;
  };
  // The branch's camera program, paired like any camera; its door camera is unplugged
  // (it keeps reconnecting), it only answers the kiosk here.
  const cameraCode = await device("name=Kiosk+faces+door&branch_id=1&kind=camera&camera_role=entrance");
  const token = execFileSync(VISION_BIN, ["pair", "--server", baseURL!, "--code", cameraCode]).toString().trim();
  const work = mkdtempSync(join(tmpdir(), "kiosk-faces-"));
  const config = join(work, "vision.toml");
  writeFileSync(
    config,
    `server = "${baseURL}"\ndata_dir = "${work}/data"\n\n[[camera]]\nid = "door"\nrole = "entrance"\n` +
      `source = "rtsp://127.0.0.1:9/stream"\nfps = 10\ntoken = "${token}"\n`,
  );
  const vision = spawn(VISION_BIN, ["run", "--config", config], { stdio: "ignore" });
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, `--use-file-for-fake-video-capture=${FACE_VIDEO}`],
  });
  try {
    const context = await browser.newContext({ baseURL, viewport: { width: 1024, height: 768 }, permissions: ["camera"] });
    const kiosk = await context.newPage();
    const kioskCode = await device("name=Kiosk+faces+tablet&branch_id=1&kind=kiosk");
    await kiosk.goto(`/kiosk?pair=${kioskCode}`);
    await hydrated(kiosk);
    // The kiosk watches for faces once the camera program answers for its branch.
    await expect
      .poll(async () => (await (await kiosk.request.post("/rpc/kiosk_info", { data: {} })).json()).faces, {
        timeout: 60_000,
      })
      .toBe(true);
    await kiosk.goto("/kiosk");
    await hydrated(kiosk);
    await kiosk.locator("[data-lang=en]").click();
    await expect(kiosk.locator("[data-test=kiosk-face-preview]")).toBeVisible({ timeout: 15_000 });
    await screenshot(kiosk, "kiosk-face-welcome");
    // He registered with a photo from his first session (the camera passage before these
    // tests); the tablet sees him in his second one.
    await expect(kiosk.locator("[data-test=welcome-back]")).toContainText("Passage — is this you?", { timeout: 30_000 });
    await screenshot(kiosk, "kiosk-face-is-this-you");
    await kiosk.locator("[data-test=kiosk-check-in]").click();
    await expect(kiosk.locator(".kiosk-screen[data-step=done]")).toBeVisible();
    await screenshot(kiosk, "kiosk-face-done");
  } finally {
    await browser.close();
    vision.kill("SIGTERM");
  }
});
