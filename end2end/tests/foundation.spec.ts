import { expect, test } from "@playwright/test";
import { hydrated, screenshot, signIn } from "./helpers";

test("anonymous visitors are sent to the sign-in page", async ({ page }) => {
  await page.goto("/clients");
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.locator("input[name=password]")).toBeVisible();
});

test("a wrong password gets a clear message in the chosen language", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  await page.locator("[data-lang=en]").click();
  await page.locator("input[name=login]").fill("admin");
  await page.locator("input[name=password]").fill("not-the-password");
  await page.locator("[data-test=login-form] button[type=submit]").click();
  await expect(page.getByRole("alert")).toHaveText("Wrong login or password.");
  await expect(page).toHaveURL(/\/login$/);
});

test("sign in, see the dashboard, switch language, sign out", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.context().clearCookies();
  await signIn(page);
  // Uzbek (Latin) is the default.
  await expect(page.locator("h1.page-title")).toHaveText("Bosh sahifa");
  await expect(page.locator("[data-test=kpis]")).toBeVisible();
  await expect(page.locator("[data-test=visits-today]")).toHaveText(/^\d+$/);
  await screenshot(page, "dashboard-uz-desktop");

  await page.locator("[data-lang=ru]").click();
  await expect(page.locator("h1.page-title")).toHaveText("Обзор");
  await expect(page.locator("nav.nav")).toContainText("Клиенты");
  // The choice survives a reload: the server renders Russian too.
  await page.reload();
  await hydrated(page);
  await expect(page.locator("h1.page-title")).toHaveText("Обзор");

  await page.locator("[data-lang=en]").click();
  await expect(page.locator("h1.page-title")).toHaveText("Dashboard");
  await screenshot(page, "dashboard-en-desktop");

  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, "dashboard-en-phone");

  await page.setViewportSize({ width: 1280, height: 900 });
  await page.locator("[data-test=sign-out]").click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
});

test("clients can be searched by a phone fragment", async ({ page }) => {
  await signIn(page);
  await page.goto("/clients");
  await hydrated(page);
  const firstPhone = (await page.locator("[data-test=client-table] tbody tr td:nth-child(2)").first().innerText()).trim();
  expect(firstPhone).toMatch(/^\+998\d{9}$/);
  // Typed the way people do: with spaces, without +998.
  const fragment = `${firstPhone.slice(4, 6)} ${firstPhone.slice(6, 9)}-${firstPhone.slice(9, 11)}`;
  await page.locator("[data-test=client-search]").fill(fragment);
  await page.locator("[data-test=client-search]").press("Enter");
  await expect(page).toHaveURL(/q=/);
  await expect(page.locator("[data-test=client-table]")).toContainText(firstPhone);
  await screenshot(page, "clients-desktop");
});

test("an admin adds a branch in settings", async ({ page }) => {
  await signIn(page);
  await page.goto("/settings");
  await hydrated(page);
  const rows = page.locator("[data-test=branch-table] tbody tr");
  await expect(rows.first()).toBeVisible();
  const before = await rows.count();
  const name = `Farg‘ona ${Date.now() % 100000}`;
  await page.locator("details.add-form summary").first().click();
  const form = page.locator("details.add-form").first();
  await form.locator("input[name=name]").fill(name);
  await form.locator("input[name=city]").fill("Farg‘ona");
  await form.locator("button[type=submit]").click();
  await expect(rows).toHaveCount(before + 1);
  await expect(page.locator("[data-test=branch-table]")).toContainText(name);
  // The same name again is refused with a message.
  await page.reload();
  await hydrated(page);
  await page.locator("details.add-form summary").first().click();
  await expect(form).toHaveAttribute("open", "");
  await form.locator("input[name=name]").fill(name);
  await form.locator("input[name=city]").fill("Farg‘ona");
  await form.locator("button[type=submit]").click();
  await expect(page.getByRole("alert")).toBeVisible();
  await screenshot(page, "settings-desktop");
});
