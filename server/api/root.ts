import { accountRouter } from "./routers/account";
import { creditsRouter } from "./routers/credits";
import { keysRouter } from "./routers/keys";
import { catalogRouter } from "./routers/catalog";
import { orgsRouter } from "./routers/orgs";
import { createCallerFactory, router } from "./trpc";

export const appRouter = router({
  account: accountRouter,
  orgs: orgsRouter,
  credits: creditsRouter,
  keys: keysRouter,
  catalog: catalogRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
