import { accountRouter } from "./routers/account";
import { catalogRouter } from "./routers/catalog";
import { orgsRouter } from "./routers/orgs";
import { createCallerFactory, router } from "./trpc";

export const appRouter = router({
  account: accountRouter,
  orgs: orgsRouter,
  catalog: catalogRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
