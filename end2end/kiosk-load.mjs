// Time from navigation to a hydrated /kiosk page in Debian's Chromium, cold
// cache each time (a new browser context), at tablet size. Usage:
//   node kiosk-load.mjs BASE_URL [RUNS]
import { chromium } from "@playwright/test";

const base = process.argv[2] ?? "http://127.0.0.1:3300";
const runs = Number(process.argv[3] ?? 7);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const times = [];
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  const page = await context.newPage();
  const started = Date.now();
  await page.goto(`${base}/kiosk`);
  await page.waitForSelector("html[data-hydrated=true]", { state: "attached", timeout: 60_000 });
  // The kiosk has asked the server who it is and shows its first screen.
  await page.waitForSelector(".kiosk-screen:not([data-step=loading])", { timeout: 60_000 });
  times.push(Date.now() - started);
  await context.close();
}
await browser.close();
times.sort((a, b) => a - b);
console.log(
  `kiosk page ready (cold cache, ${runs} runs): median ${times[Math.floor(runs / 2)]} ms, ` +
    `min ${times[0]} ms, max ${times[runs - 1]} ms`,
);
