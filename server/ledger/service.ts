/**
 * The ledger's public API, one module per seam: accounts (./accounts.ts), postings
 * (./postings.ts), holds and their resolution (./pending.ts), locks and positions
 * (./locks.ts, ./position.ts), history (./statement.ts) and invariants (./invariants.ts).
 * Only server/ledger/ reads or locks ledger rows; every other module goes through these.
 */
export {
  ensureAccount,
  findAccounts,
  getBalance,
  listBalances,
  setCreditLimit,
  type AccountBalance,
  type EnsureAccountInput,
  type LedgerAccount,
} from "./accounts";
export { checkInvariants, type Violation } from "./invariants";
export { createPending, postTransfers, postTransfersBatch } from "./postings";
export { expirePending, postPending, voidPending, voidPendingBatch, type ResolveInput } from "./pending";
export { statement, trialBalance, type StatementEntry, type TrialBalanceRow } from "./statement";
