import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import readline from "node:readline";

export type PgChild = { url: string; adminUrl: string; process: ChildProcess; stop: () => Promise<void> };

const tsx = path.resolve("node_modules/.bin/tsx");

/** Starts scripts/pg-server.ts and waits for its ready line. */
export function startPgChild(opts: { dataDir: string; port: number; database: string; fresh?: boolean; onLog?: (line: string) => void }): Promise<PgChild> {
  const child = spawn(tsx, ["scripts/pg-server.ts", opts.dataDir, String(opts.port), opts.database, opts.fresh ? "fresh" : ""], {
    stdio: ["pipe", "pipe", "pipe"],
    // Its own process group: a Ctrl-C reaches the launcher, which stops the database last.
    detached: true,
  });
  const stderr: string[] = [];
  readline.createInterface({ input: child.stderr! }).on("line", (l) => {
    stderr.push(l);
    opts.onLog?.(l);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout! });
    lines.once("line", (line) => {
      try {
        const { url, adminUrl } = JSON.parse(line) as { url: string; adminUrl: string };
        lines.on("line", (l) => opts.onLog?.(l));
        resolve({
          url,
          adminUrl,
          process: child,
          stop: async () => {
            if (child.exitCode === null) child.kill("SIGTERM");
            await exited;
          },
        });
      } catch {
        reject(new Error(`database process said: ${line}\n${stderr.join("\n")}`));
      }
    });
    child.once("exit", (code) => reject(new Error(`database process exited (${code}):\n${stderr.join("\n")}`)));
  });
}
