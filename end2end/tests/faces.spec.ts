import { expect, test } from "@playwright/test";
import { hydrated, screenshot, signIn } from "./helpers";

// An 8×8 PNG: the server keeps any photo; the cameras find the face in it.
const PHOTO = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR4nGM4UaGBFTEMLQkAUtVaAV8W4QQAAAAASUVORK5CYII=",
  "base64",
);

test("a staff member enrols their face on the profile page with consent, and removes it", async ({ page }) => {
  await signIn(page);
  await page.locator("[data-lang=en]").click();
  await page.goto("/profile");
  await hydrated(page);
  const card = page.locator("[data-test=staff-face]");
  await expect(card.locator("[data-test=face-missing]")).toBeVisible();
  const form = card.locator("[data-test=enrol-face]");
  await form.locator("input[type=file]").setInputFiles({ name: "me.png", mimeType: "image/png", buffer: PHOTO });
  // Consent is required: the browser does not send the form without it.
  await form.locator("button[type=submit]").click();
  await expect(page).toHaveURL(/\/profile$/);
  await form.locator("input[name=consent]").check();
  await form.locator("button[type=submit]").click();
  await page.waitForURL(/face=ok/);
  await hydrated(page);
  await expect(page.locator("[data-test=face-ok]")).toContainText("The photo is saved");
  await expect(card.locator("[data-test=face-enrolled]")).toContainText("Administrator");
  await screenshot(page, "profile-face-enrolled");
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, "profile-face-phone");

  await card.locator("[data-test=remove-face] [data-test=confirm-open]").click();
  await card.locator("[data-test=remove-face] [data-test=confirm-yes]").click();
  await expect(card.locator("[data-test=face-missing]")).toBeVisible();
});

test("a staff member at a desk takes the photo with the computer's camera in the page", async ({ page }) => {
  await signIn(page);
  await page.locator("[data-lang=en]").click();
  await page.goto("/profile");
  await hydrated(page);
  const card = page.locator("[data-test=staff-face]");
  await expect(card.locator("[data-test=face-missing]")).toBeVisible();
  const form = card.locator("[data-test=enrol-face]");
  // Chromium's fake camera stands in for the webcam.
  await form.locator("[data-test=camera-open]").click();
  await expect(form.locator("[data-test=camera-video]")).toBeVisible();
  await form.locator("[data-test=camera-take]").click();
  await expect(form.locator("[data-test=camera-still]")).toBeVisible();
  await expect(form.locator("[data-test=camera-video]")).toBeHidden();
  // The picture is the form's file, a JPEG, as if chosen from disk.
  const chosen = await form
    .locator("input[type=file]")
    .evaluate((input: HTMLInputElement) => [...(input.files ?? [])].map((f) => [f.name, f.type, f.size]));
  expect(chosen).toHaveLength(1);
  expect(chosen[0][0]).toBe("camera.jpg");
  expect(chosen[0][1]).toBe("image/jpeg");
  expect(Number(chosen[0][2])).toBeGreaterThan(1000);
  await screenshot(page, "profile-face-camera");
  await form.locator("input[name=consent]").check();
  await form.locator("button[type=submit]").click();
  await page.waitForURL(/face=ok/);
  await hydrated(page);
  await expect(card.locator("[data-test=face-enrolled]")).toContainText("Administrator");

  await card.locator("[data-test=remove-face] [data-test=confirm-open]").click();
  await card.locator("[data-test=remove-face] [data-test=confirm-yes]").click();
  await expect(card.locator("[data-test=face-missing]")).toBeVisible();
});

test("the settings page shows who of the staff the cameras saw", async ({ page }) => {
  await signIn(page);
  await page.locator("[data-lang=en]").click();
  await page.goto("/settings");
  await hydrated(page);
  const presence = page.locator("[data-test=staff-presence]");
  await expect(presence.locator("h2")).toHaveText("Staff presence");
  // The camera passage that runs before these tests (scripts/e2e.sh) sent a salesman past the
  // entrance.
  await expect(presence.locator("tbody tr").first()).toContainText("Franck Sotuvchi");
  await presence.scrollIntoViewIfNeeded();
  await screenshot(page, "settings-staff-presence");
});
