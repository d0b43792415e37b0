// The demo upstream as a process: `tsx server/upstream-demo/main.ts [--port N] [--delay-ms N] [--tps N]`.
// scripts/start.ts runs it next to the web app whenever the demo data is seeded.
import { parseArgs } from "node:util";
import { env } from "../env";
import { initProcessLogger } from "../lib/logger";
import { startDemoUpstream } from "./server";

const { values } = parseArgs({
  options: { port: { type: "string" }, "delay-ms": { type: "string" }, tps: { type: "string" } },
});

const log = initProcessLogger("demo-upstream");
const upstream = await startDemoUpstream({
  port: Number(values.port ?? env().DEMO_UPSTREAM_PORT),
  delayMs: Number(values["delay-ms"] ?? 0),
  tokensPerSecond: Number(values.tps ?? 0),
});
log.info({ url: upstream.url }, `demo upstream (OpenAI-compatible) listening on ${upstream.url}`);

const stop = () => void upstream.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
