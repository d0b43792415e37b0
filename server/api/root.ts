import { accountRouter } from "./routers/account";
import { orgsRouter } from "./routers/orgs";
import { createCallerFactory, router } from "./trpc";

export const appRouter = router({
  account: accountRouter,
  orgs: orgsRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
