import { expect, test, type APIRequestContext } from "@playwright/test";
import { ADMIN_PASSWORD, hydrated, screenshot, signIn } from "./helpers";

// The fake Telegram Bot API the Makefile starts beside the server.
const TELEGRAM = process.env.E2E_TELEGRAM_URL ?? "";

type Sent = { chat_id: number; text: string; photo: boolean };

async function say(request: APIRequestContext, chat: number, text: string) {
  const reply = await request.post(`${TELEGRAM}/_test/updates`, { data: { chat_id: chat, text } });
  expect(reply.ok()).toBeTruthy();
}

async function sentTo(request: APIRequestContext, chat: number): Promise<Sent[]> {
  const reply = await request.get(`${TELEGRAM}/_test/sent`);
  return ((await reply.json()) as Sent[]).filter((m) => m.chat_id === chat);
}

test("staff change their own password; the form says so and empties", async ({ page }) => {
  await signIn(page);
  await page.locator("[data-lang=en]").click();
  await page.goto("/profile");
  await hydrated(page);
  const form = page.locator("[data-test=change-password]");
  await form.locator("input[name=current_password]").fill("not-my-password");
  await form.locator("input[name=new_password]").fill("e2e-new-pass-1");
  await form.locator("input[name=repeat_password]").fill("e2e-new-pass-1");
  await form.locator("button[type=submit]").click();
  await expect(form.locator("[role=alert]")).toContainText("Current password");
  await form.locator("input[name=current_password]").fill(ADMIN_PASSWORD);
  await form.locator("button[type=submit]").click();
  await expect(form.locator("[data-test=password-changed]")).toBeVisible();
  await expect(form.locator("input[name=new_password]")).toHaveValue("");
  // Still signed in here; the old password no longer works, the new one does; then back.
  await page.goto("/clients");
  await expect(page).toHaveURL(/\/clients/);
  const context = await page.context().browser()!.newContext({ baseURL: new URL(page.url()).origin });
  const other = await context.newPage();
  await signIn(other, "admin", "e2e-new-pass-1");
  await other.goto("/profile");
  await hydrated(other);
  const back = other.locator("[data-test=change-password]");
  await back.locator("input[name=current_password]").fill("e2e-new-pass-1");
  await back.locator("input[name=new_password]").fill(ADMIN_PASSWORD);
  await back.locator("input[name=repeat_password]").fill(ADMIN_PASSWORD);
  await back.locator("button[type=submit]").click();
  await expect(back.locator("[data-test=password-changed]")).toBeVisible();
  await context.close();
});

test("a manager links a Telegram chat from the profile page and an admin unlinks it", async ({ page, request }) => {
  test.skip(!TELEGRAM, "needs the fake Telegram server (make e2e starts it)");
  await signIn(page);
  await page.goto("/profile");
  await hydrated(page);
  const status = page.locator("[data-test=telegram-status]");
  const unlinkedText = (await status.textContent()) ?? "";

  // A stranger's chat gets a polite refusal and no data.
  await say(request, 6161, "/today");
  await expect.poll(async () => (await sentTo(request, 6161)).length).toBe(1);
  expect((await sentTo(request, 6161))[0].text).toContain("/start");

  await page.locator("[data-test=link-code]").click();
  const code = (await page.locator("[data-test=telegram-code]").textContent())?.trim() ?? "";
  expect(code).toMatch(/^[A-Z2-9]{8}$/);
  // The page names the bot and links to it with the code, also as a QR code for a phone.
  await expect(page.locator("[data-test=telegram-bot]")).toContainText("@avtosalon_e2e_bot");
  await expect(page.locator("[data-test=telegram-open]")).toHaveAttribute("href", `https://t.me/avtosalon_e2e_bot?start=${code}`);
  await expect(page.locator("[data-test=telegram-bot] .qr svg")).toHaveCount(1);
  await screenshot(page, "profile-telegram-code");

  await say(request, 5151, `/start ${code}`);
  await expect.poll(async () => (await sentTo(request, 5151)).length).toBe(1);
  await expect
    .poll(async () => {
      await page.reload();
      await hydrated(page);
      return status.textContent();
    })
    .not.toBe(unlinkedText);
  await screenshot(page, "profile-telegram-linked");

  // Linked: commands answer with data.
  await say(request, 5151, "/inside");
  await expect.poll(async () => (await sentTo(request, 5151)).length).toBe(2);
  expect((await sentTo(request, 5151))[1].text).not.toContain("/start");

  // The admin unlinks the chat in settings; the bot refuses it again.
  await page.goto("/settings");
  await hydrated(page);
  await page.locator("[data-test=unlink-telegram]").first().click();
  await expect(page.locator("[data-test=unlink-telegram]")).toHaveCount(0);
  await say(request, 5151, "/inside");
  await expect.poll(async () => (await sentTo(request, 5151)).length).toBe(3);
  expect((await sentTo(request, 5151))[2].text).toContain("/start");
  await page.goto("/profile");
  await hydrated(page);
  await expect(status).toHaveText(unlinkedText);
});
