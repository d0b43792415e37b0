import { messagesDialect } from "./messages";
import type { Dialect } from "./types";

/** Every client dialect the proxy serves, by the POST path it answers on. */
export const DIALECTS: ReadonlyMap<string, Dialect> = new Map([[messagesDialect.path, messagesDialect]]);
