// A fake Telegram Bot API server for the end-to-end tests, on 127.0.0.1.
// It speaks the Bot API's HTTP protocol to the server's bot (getMe,
// getUpdates, sendMessage, sendPhoto) and lets the tests play the user:
//   POST /_test/updates {"chat_id": 1, "text": "/start CODE"}  queues a message
//   GET  /_test/sent                                           what the bot sent
// Usage: node fake-telegram.mjs PORT
import http from "node:http";

const port = Number(process.argv[2] ?? 0);
const updates = [];
const sent = [];
let nextUpdate = 1;

const ok = (result) => ({ ok: true, result });
const message = (chat, text) => ({
  message_id: sent.length,
  date: Math.floor(Date.now() / 1000),
  chat: { id: chat, type: "private" },
  text,
});

/** Text fields of a multipart body (sendPhoto); files are only counted. */
function multipartFields(body, contentType) {
  const boundary = /boundary=("?)([^";]+)\1/.exec(contentType)?.[2];
  const fields = {};
  if (!boundary) return fields;
  for (const part of body.toString("latin1").split(`--${boundary}`)) {
    const name = /name="([^"]+)"/.exec(part)?.[1];
    const at = part.indexOf("\r\n\r\n");
    if (!name || at < 0 || /filename=/.test(part.slice(0, at))) continue;
    fields[name] = Buffer.from(part.slice(at + 4).replace(/\r\n$/, ""), "latin1").toString("utf8");
  }
  return fields;
}

function reply(res, status, value) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(value));
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    const body = Buffer.concat(chunks);
    const type = req.headers["content-type"] ?? "";
    if (req.url === "/_test/updates" && req.method === "POST") {
      const { chat_id, text } = JSON.parse(body.toString("utf8"));
      updates.push({
        update_id: nextUpdate++,
        message: {
          message_id: nextUpdate,
          date: Math.floor(Date.now() / 1000),
          chat: { id: chat_id, type: "private" },
          from: { id: chat_id, is_bot: false, first_name: "E2E" },
          text,
        },
      });
      return reply(res, 200, { ok: true });
    }
    if (req.url === "/_test/sent") return reply(res, 200, sent);
    const method = /^\/bot[^/]+\/(\w+)$/.exec(req.url ?? "")?.[1]?.toLowerCase();
    const params = type.startsWith("multipart/")
      ? multipartFields(body, type)
      : body.length
        ? JSON.parse(body.toString("utf8"))
        : {};
    switch (method) {
      case "getme":
        return reply(res, 200, ok({ id: 42, is_bot: true, first_name: "Avtosalon", username: "avtosalon_e2e_bot",
          can_join_groups: false, can_read_all_group_messages: false, supports_inline_queries: false,
          has_main_web_app: false }));
      case "getupdates": {
        const offset = Number(params.offset ?? 0);
        // Hold the poll briefly when there is nothing, as Telegram holds it.
        for (let i = 0; i < 5 && !updates.some((u) => u.update_id >= offset); i++) {
          await new Promise((r) => setTimeout(r, 100));
        }
        return reply(res, 200, ok(updates.filter((u) => u.update_id >= offset)));
      }
      case "sendmessage":
      case "sendphoto": {
        const chat = Number(params.chat_id);
        const text = params.text ?? params.caption ?? "";
        sent.push({ chat_id: chat, text, photo: method === "sendphoto" });
        return reply(res, 200, ok(message(chat, text)));
      }
      default:
        return reply(res, 404, { ok: false, error_code: 404, description: "Not Found: method not found" });
    }
  });
});

server.listen(port, "127.0.0.1", () => {
  console.log(`fake Telegram Bot API on http://127.0.0.1:${server.address().port}`);
});
