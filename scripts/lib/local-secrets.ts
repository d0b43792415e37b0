import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/**
 * A secret generated once and kept in `<dataDir>/secrets.json` (mode 0600), for
 * local runs that should need no configuration. Production sets real values.
 */
export function localSecret(dataDir: string, name: string, bytes = 32): string {
  const file = path.join(dataDir, "secrets.json");
  fs.mkdirSync(dataDir, { recursive: true });
  const exists = fs.existsSync(file);
  // writeFileSync's mode applies only to a new file: one copied in or loosened since is tightened on every start.
  if (exists) fs.chmodSync(file, 0o600);
  const secrets: Record<string, string> = exists ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
  if (!secrets[name]) {
    secrets[name] = randomBytes(bytes).toString("base64url");
    fs.writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  }
  return secrets[name];
}
