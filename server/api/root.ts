import { accountRouter } from "./routers/account";
import { creditsRouter } from "./routers/credits";
import { dashboardsRouter } from "./routers/dashboards";
import { energyRouter } from "./routers/energy";
import { keysRouter } from "./routers/keys";
import { catalogRouter } from "./routers/catalog";
import { auditRouter } from "./routers/audit";
import { financeRouter } from "./routers/finance";
import { ledgerRouter } from "./routers/ledger";
import { orgsRouter } from "./routers/orgs";
import { reservationsRouter } from "./routers/reservations";
import { payoutsRouter } from "./routers/payouts";
import { connectRouter } from "./routers/connect";
import { usageRouter } from "./routers/usage";
import { economyRouter } from "./routers/economy";
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
  energy: energyRouter,
  dashboards: dashboardsRouter,
  finance: financeRouter,
  payouts: payoutsRouter,
  connect: connectRouter,
  audit: auditRouter,
  economy: economyRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
