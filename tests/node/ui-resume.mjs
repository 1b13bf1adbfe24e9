// useChat({ resume: true }) after a reload, with the `ai` package's own transport: send a
// message, abandon the answer after its first chunks (the page went away), then reconnect the
// way useChat does on mount (DefaultChatTransport.reconnectToStream: GET <api>/<chatId>/stream)
// and assemble the message from the resumed stream with readUIMessageStream; once the answer
// is over, reconnect again, which must find nothing (204 -> null).
//
//   LLMRELAY_KEY=<client key> node ui-resume.mjs <url of /api/chat> <chat id> <prompt>
//
// Prints one JSON line: {"abandonedChunks", "text", "errors", "afterEnd"}.
import { DefaultChatTransport, readUIMessageStream } from "ai";

const [api, chatId, prompt] = process.argv.slice(2);
const key = process.env.LLMRELAY_KEY;
const transport = new DefaultChatTransport({ api, headers: key ? { "x-api-key": key } : {} });
const messages = [{ id: "msg-user-1", role: "user", parts: [{ type: "text", text: prompt }] }];

const controller = new AbortController();
const first = await transport.sendMessages({
  chatId,
  trigger: "submit-message",
  messageId: undefined,
  messages,
  abortSignal: controller.signal,
});
const reader = first.getReader();
let abandonedChunks = 0;
while (abandonedChunks < 4) {
  const { done } = await reader.read();
  if (done) break;
  abandonedChunks += 1;
}
controller.abort(); // the page is gone; the answer goes on on the server

const resumed = await transport.reconnectToStream({ chatId });
const errors = [];
let message;
if (resumed !== null) {
  for await (const snapshot of readUIMessageStream({
    stream: resumed,
    onError: (error) => errors.push(error.message),
  })) {
    message = snapshot;
  }
}
const text = (message?.parts ?? [])
  .filter((part) => part.type === "text")
  .map((part) => part.text)
  .join("");
const afterEnd = await transport.reconnectToStream({ chatId });
console.log(JSON.stringify({ abandonedChunks, resumed: resumed !== null, text, errors, afterEnd }));
