import "server-only";
import { cache } from "react";
import { createServerContext } from "./http";
import { createCaller } from "./root";

/** A tRPC caller for server components, one per request. */
export const serverCaller = cache(async () => createCaller(await createServerContext()));
