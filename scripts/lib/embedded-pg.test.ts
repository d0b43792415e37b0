import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { startEmbeddedPg } from "./embedded-pg";

// A port can be taken for a moment (ours lie in Linux's ephemeral range; a server on it may be
// stopping). The start must wait that out, and still fail, naming the port, when it stays taken.
const dirs: string[] = [];
const tempDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "embedded-pg-"));
  fs.chmodSync(d, 0o755);
  dirs.push(d);
  return path.join(d, "pg");
};
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Another socket on `port` of 127.0.0.1 (a server just stopping, a moment's other owner); returns its release. */
async function hold(port: number): Promise<() => Promise<void>> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe("embedded PostgreSQL on a port taken for a moment", () => {
  it("starts once the other socket lets the port go", async () => {
    // Initialised beforehand, so the start below meets the taken port at once rather than after initdb.
    const dataDir = tempDir();
    await (await startEmbeddedPg({ dataDir, port: await freePort(), databases: [] })).stop();
    const port = await freePort();
    const release = await hold(port);
    setTimeout(() => void release(), 600);
    const db = await startEmbeddedPg({ dataDir, port, databases: ["held"] });
    try {
      const c = new pg.Client({ connectionString: db.url("held") });
      await c.connect();
      expect((await c.query("select 1 as one")).rows).toEqual([{ one: 1 }]);
      await c.end();
    } finally {
      await db.stop();
    }
  }, 60_000);

  it("fails, naming the port, when it stays taken", async () => {
    const port = await freePort();
    const release = await hold(port);
    try {
      await expect(startEmbeddedPg({ dataDir: tempDir(), port, databases: [] })).rejects.toThrow(`port ${port}`);
    } finally {
      await release();
    }
  }, 60_000);
});
