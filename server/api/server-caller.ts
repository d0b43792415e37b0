import "server-only";
import { cache } from "react";
import { getDb } from "../db";
import { sessionUser } from "./http";
import { createCaller } from "./root";

/** A tRPC caller for server components, one per request. */
export const serverCaller = cache(async () => createCaller({ db: getDb(), user: await sessionUser(), serviceToken: null }));
