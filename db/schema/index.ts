export * from "./auth";
export * from "./orgs";
export * from "./catalog";
export * from "./ledger";
