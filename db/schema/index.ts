export * from "./auth";
export * from "./orgs";
export * from "./catalog";
export * from "./credits";
export * from "./keys";
export * from "./ledger";
export * from "./usage";
export * from "./dashboards";
