/**
 * A child process of the server benchmark: opens the contender given in argv (JSON) and, on the
 * parent's messages, either works jobs ("work": reports its completions) or enqueues one job at a
 * time stamped with the wall clock ("enqueue": for the wake latency from another process).
 */
import { openContender, type ContenderConfig } from "./contenders.ts";

type Message = { go: number } | { send: number } | { stop: true };

const [mode, configJson] = process.argv.slice(2) as ["work" | "enqueue", string];
const config = JSON.parse(configJson) as ContenderConfig;
const send = (message: unknown) => process.send!(message);
const now = () => performance.timeOrigin + performance.now();

const contender = await openContender(config);
await contender.ready();
let worker: { stop(): Promise<void> } | null = null;
let done = 0;
let reported = 0;
const report = setInterval(() => {
  if (done !== reported) send({ done: (reported = done) });
}, 10);

process.on("message", async (message: Message) => {
  if ("go" in message) {
    worker = await contender.work(message.go, { onStart() {}, onDone: () => void done++ });
  } else if ("send" in message) {
    await contender.enqueue([{ sentAt: now(), n: message.send }]);
    send({ sent: message.send });
  } else {
    clearInterval(report);
    await worker?.stop();
    await contender.close();
    send({ stopped: done });
    process.disconnect();
  }
});
send({ ready: mode });
