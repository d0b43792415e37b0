/** Most calls one batched tRPC request may carry; the browser's batch link splits at the same size. */
export const MAX_BATCH_SIZE = 20;
