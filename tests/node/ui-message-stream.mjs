// Reads POST /api/chat the way useChat does: the `ai` package's own DefaultChatTransport
// sends useChat's request body and parses the response with uiMessageChunkSchema, and its
// readUIMessageStream assembles the assistant message from the chunks.
//
//   node ui-message-stream.mjs <url of /api/chat> <prompt> [model]
//
// Prints one JSON line: {"status", "message", "text", "errors"} on a streamed answer, or
// {"status", "httpError"} when the gateway answered with an HTTP error.
import { DefaultChatTransport, readUIMessageStream } from "ai";

const [api, prompt, model] = process.argv.slice(2);
if (!api || prompt === undefined) {
  console.error("usage: node ui-message-stream.mjs <url> <prompt> [model]");
  process.exit(2);
}

const transport = new DefaultChatTransport({ api, body: model ? { model } : {} });
const messages = [{ id: "msg-user-1", role: "user", parts: [{ type: "text", text: prompt }] }];

let chunks;
try {
  chunks = await transport.sendMessages({
    chatId: "chat-e2e",
    trigger: "submit-message",
    messageId: undefined,
    messages,
    abortSignal: undefined,
  });
} catch (error) {
  console.log(JSON.stringify({ status: error.statusCode ?? null, httpError: error.message }));
  process.exit(0);
}

const errors = [];
let message;
for await (const snapshot of readUIMessageStream({
  stream: chunks,
  onError: (error) => errors.push(error.message),
})) {
  message = snapshot;
}
const text = (message?.parts ?? [])
  .filter((part) => part.type === "text")
  .map((part) => part.text)
  .join("");
console.log(JSON.stringify({ status: 200, message, text, errors }));
