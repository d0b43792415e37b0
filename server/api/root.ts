import { accountRouter } from "./routers/account";
import { creditsRouter } from "./routers/credits";
import { dashboardsRouter } from "./routers/dashboards";
import { keysRouter } from "./routers/keys";
import { catalogRouter } from "./routers/catalog";
import { ledgerRouter } from "./routers/ledger";
import { orgsRouter } from "./routers/orgs";
import { reservationsRouter } from "./routers/reservations";
import { usageRouter } from "./routers/usage";
import { createCallerFactory, router } from "./trpc";

export const appRouter = router({
  account: accountRouter,
  orgs: orgsRouter,
  credits: creditsRouter,
  keys: keysRouter,
  catalog: catalogRouter,
  ledger: ledgerRouter,
  reservations: reservationsRouter,
  usage: usageRouter,
  dashboards: dashboardsRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
