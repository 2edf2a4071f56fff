import { expect, test, type APIRequestContext } from "@playwright/test";
import { hydrated, screenshot, signIn } from "./helpers";

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
