import { defineConfig } from "@playwright/test";

// The installed site over HTTPS (scripts/site-test.sh): a tablet that trusts the
// local certificate authority through its NSS database ($HOME/.pki/nssdb), reaching
// the server by a LAN name, with a real face video as its camera. Certificate
// errors are never ignored: an untrusted certificate fails the test.
export default defineConfig({
  testDir: "./site",
  timeout: 120_000,
  globalTimeout: 10 * 60_000,
  expect: { timeout: 15_000 },
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  outputDir: "test-results-site",
  use: {
    baseURL: process.env.E2E_SITE_URL,
    ignoreHTTPSErrors: false,
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        // The showroom's name for the server, as the Wi-Fi's DNS would answer.
        "--host-resolver-rules=MAP avtosalon.test 127.0.0.1",
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        `--use-file-for-fake-video-capture=${process.env.E2E_FAKE_VIDEO}`,
      ],
    },
  },
});
