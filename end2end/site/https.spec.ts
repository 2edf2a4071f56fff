import { expect, test } from "@playwright/test";
import { hydrated } from "../tests/helpers";

// Run by scripts/site-test.sh against the installed server (site.config.ts).
const PASSWORD = process.env.E2E_ADMIN_PASSWORD!;
const PLAIN_PORT = process.env.E2E_PLAIN_PORT!;
const TABLET = { width: 1024, height: 768 };

test("a fresh install: the admin sets up a branch and a kiosk, a tablet trusting the local authority registers a visitor over HTTPS with its camera", async ({
  page,
  browser,
}) => {
  // The admin signs in over HTTPS by the showroom's name: the certificate is trusted.
  await page.goto("/login");
  expect(page.url()).toMatch(/^https:\/\/avtosalon\.test:\d+\/login$/);
  await hydrated(page);
  await page.locator("input[name=login]").fill("admin");
  await page.locator("input[name=password]").fill(PASSWORD);
  await page.locator("[data-test=login-form] button[type=submit]").click();
  await page.waitForURL((url) => url.pathname === "/");

  // A fresh install has no branch: the admin adds the showroom's.
  await page.goto("/settings");
  await hydrated(page);
  await page.locator("details.add-form summary").first().click();
  const branchForm = page.locator("details.add-form").first();
  await branchForm.locator("input[name=name]").fill("Chilonzor");
  await branchForm.locator("input[name=city]").fill("Toshkent");
  await branchForm.locator("button[type=submit]").click();
  await expect(page.locator("[data-test=branch-table] tbody tr")).toHaveCount(1);

  // Settings tell tablets where the authority is: plain HTTP on the showroom name, as a QR code too.
  const authority = page.locator("[data-test=authority-link]");
  await expect(authority).toHaveAttribute("href", `http://avtosalon.test:${PLAIN_PORT}/ca.crt`);
  await expect(page.locator("[data-test=authority] svg")).toHaveCount(1);
  // (Fetched from this test, which has no showroom DNS: the same port on loopback.)
  const caLink = (await authority.getAttribute("href"))!.replace("avtosalon.test", "127.0.0.1");
  const pem = await (await page.request.get(caLink)).text();
  expect(pem).toContain("BEGIN CERTIFICATE");
  await expect(page.locator("[data-test=vision-state]")).toBeVisible();
  await page.screenshot({ path: "screenshots/settings-authority.png", fullPage: true });

  // A kiosk device, paired by its link on the tablet.
  const device = page.locator("[data-test=new-device]");
  await device.locator("input[name=name]").fill("Kirish planshet");
  await device.locator("select[name=kind]").selectOption("kiosk");
  await device.locator("[data-test=create-device]").click();
  const link = await page.locator("[data-test=pairing-link]").getAttribute("href");
  expect(link).toMatch(/^https:\/\/avtosalon\.test:\d+\/kiosk\?pair=[A-Z2-9]{8}$/);

  const tablet = await (await browser.newContext({ viewport: TABLET, permissions: ["camera"] })).newPage();
  await tablet.goto(link!);
  await hydrated(tablet);
  // A secure context: the browser gives the page its camera only here.
  expect(await tablet.evaluate(() => window.isSecureContext && location.protocol)).toBe("https:");
  await tablet.locator("[data-lang=en]").click();
  await tablet.locator("[data-test=kiosk-start]").click();
  let digits = "97";
  for (let i = 0; i < 7; i++) digits += Math.floor(Math.random() * 10);
  await tablet.locator("[data-test=kiosk-phone]").fill(digits);
  await tablet.locator("[data-test=kiosk-next]").click();
  await tablet.locator("[data-test=kiosk-name]").fill("Sayt Mehmon");
  await tablet.locator("[data-test=kiosk-birth-year]").fill("1988");
  await tablet.locator("[data-gender=male]").click();
  await tablet.locator("[data-test=kiosk-source]").selectOption("walk_in");
  await tablet.locator("[data-service=consultation]").click();
  await tablet.locator("[data-test=kiosk-next]").click();
  await tablet.locator("[data-test=consent-agree]").check();
  await tablet.locator("[data-test=consent-biometric]").check();
  await tablet.locator("[data-test=kiosk-next]").click();
  // The camera plays the face video: a live preview, then the photo.
  await expect(tablet.locator("[data-test=kiosk-capture]")).toBeEnabled();
  await expect
    .poll(() => tablet.locator("[data-test=kiosk-video]").evaluate((v: HTMLVideoElement) => v.videoWidth))
    .toBeGreaterThan(0);
  await tablet.locator("[data-test=kiosk-capture]").click();
  await expect(tablet.locator("[data-test=kiosk-snapshot]")).toBeVisible();
  await tablet.screenshot({ path: "screenshots/site-kiosk-photo.png" });
  await tablet.locator("[data-test=kiosk-finish]").click();
  await expect(tablet.locator("[data-test=visit-number]")).toBeVisible();

  // The manager finds the new client with the photo the tablet took.
  // (Asked from the page: this test's own requests know no showroom DNS.)
  const found = await page.evaluate(async (q) => (await fetch(`/api/clients?q=${q}`)).json(), digits);
  expect(found.total).toBe(1);
  await page.goto(`/clients/${found.items[0].id}`);
  await hydrated(page);
  const photo = page.locator("[data-test=client-photo]");
  await expect(photo).toBeVisible();
  expect(await photo.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
});
