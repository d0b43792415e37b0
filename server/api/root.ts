import { accountRouter } from "./routers/account";
import { keysRouter } from "./routers/keys";
import { orgsRouter } from "./routers/orgs";
import { createCallerFactory, router } from "./trpc";

export const appRouter = router({
  account: accountRouter,
  orgs: orgsRouter,
  keys: keysRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
