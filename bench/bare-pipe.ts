// The floor for bench:gateway: a Node proxy that only forwards bytes (node:http in,
// undici Pool out, Node streams both ways, no parsing). `node --import tsx bench/bare-pipe.ts <port> <upstream origin>`.
import http from "node:http";
import { Pool } from "undici";

const [port, origin] = process.argv.slice(2);
const pool = new Pool(origin!, { connections: 256, keepAliveTimeout: 30_000 });

http
  .createServer((req, res) => {
    pool
      .request({ path: req.url!, method: req.method as "POST", headers: { "content-type": req.headers["content-type"] ?? "application/json" }, body: req })
      .then((up) => {
        res.writeHead(up.statusCode, { "content-type": String(up.headers["content-type"] ?? "application/json") });
        up.body.pipe(res);
      })
      .catch(() => {
        res.writeHead(502);
        res.end();
      });
  })
  .listen(Number(port), "127.0.0.1", () => console.log("ready"));
process.on("SIGTERM", () => process.exit(0));
