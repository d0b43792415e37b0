import { spawn, type ChildProcess } from "node:child_process";
import readline from "node:readline";

const colors = ["\x1b[36m", "\x1b[35m", "\x1b[33m", "\x1b[32m", "\x1b[34m"];
let next = 0;

/** A line printer with a coloured `[name]` prefix. */
export function logger(name: string): (line: string) => void {
  const color = process.stdout.isTTY ? colors[next++ % colors.length]! : "";
  const reset = process.stdout.isTTY ? "\x1b[0m" : "";
  const prefix = `${color}[${name}]${reset} `;
  // A JSON log line names its process itself (LOG_FORMAT=json), and stays parseable without the prefix.
  return (line) => process.stdout.write(line.startsWith('{"level"') ? `${line}\n` : `${prefix}${line}\n`);
}

/** Spawns a long-running child whose output is printed line by line with a prefix. */
export function runPrefixed(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const log = logger(name);
  const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  readline.createInterface({ input: child.stdout! }).on("line", log);
  readline.createInterface({ input: child.stderr! }).on("line", log);
  return child;
}

/** Runs a command to completion with prefixed output; rejects on a non-zero exit. */
export function runToEnd(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const child = runPrefixed(name, cmd, args, env);
  return new Promise((resolve, reject) => child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${name} exited with code ${code}`)))));
}

/** Sends SIGTERM, then SIGKILL after `graceMs`; resolves when the child is gone. */
export function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
