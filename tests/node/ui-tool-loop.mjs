// Two turns of a tool loop the way useChat runs one, with the `ai` package's own
// DefaultChatTransport and readUIMessageStream:
//   1. the user's message; the assistant answers with reasoning, text and a tool call;
//   2. the client puts the tool's output on that tool part (what useChat's addToolResult
//      does) and sends the whole conversation back; the assistant answers again.
//
//   node ui-tool-loop.mjs <url of /api/chat> <prompt> <tool output as JSON>
//
// Prints one JSON line: {"first": <assistant message>, "second": <assistant message>,
// "errors": [...]}.
import { DefaultChatTransport, readUIMessageStream } from "ai";

const [api, prompt, output] = process.argv.slice(2);
if (!api || prompt === undefined || output === undefined) {
  console.error("usage: node ui-tool-loop.mjs <url> <prompt> <tool output as JSON>");
  process.exit(2);
}

const transport = new DefaultChatTransport({ api, body: { model: "echo/echo" } });
const errors = [];

async function turn(messages) {
  const chunks = await transport.sendMessages({
    chatId: "chat-tools",
    trigger: "submit-message",
    messageId: undefined,
    messages,
    abortSignal: undefined,
  });
  let message;
  for await (const snapshot of readUIMessageStream({
    stream: chunks,
    onError: (error) => errors.push(error.message),
  })) {
    message = snapshot;
  }
  return message;
}

const user = { id: "msg-user-1", role: "user", parts: [{ type: "text", text: prompt }] };
const first = await turn([user]);
const answered = structuredClone(first);
for (const part of answered.parts) {
  if (part.type.startsWith("tool-") || part.type === "dynamic-tool") {
    part.state = "output-available";
    part.output = JSON.parse(output);
  }
}
const second = await turn([user, answered]);
console.log(JSON.stringify({ first, second, errors }));
