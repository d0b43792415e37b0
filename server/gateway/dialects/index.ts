import { messagesDialect } from "./messages";
import { responses } from "./responses";
import type { Dialect } from "./types";

/** The one place a client dialect is registered: its POST path, served by the proxy through the chat pipeline. */
const DIALECTS = new Map<string, Dialect>([responses, messagesDialect].map((d) => [d.path, d as Dialect]));

export function dialectFor(path: string): Dialect | undefined {
  return DIALECTS.get(path);
}
