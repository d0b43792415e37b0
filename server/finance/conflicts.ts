import type { DbOrTx } from "../../db/client";
import { usageConflictReviews } from "../../db/schema";

/** Marks a usage conflict reviewed (with finance's note); a second review keeps the first. */
export async function reviewConflict(db: DbOrTx, p: { conflictId: string; note: string; userId: string }) {
  const [row] = await db
    .insert(usageConflictReviews)
    .values({ conflictId: p.conflictId, note: p.note, reviewedBy: p.userId })
    .onConflictDoNothing()
    .returning();
  return { conflictId: p.conflictId, reviewed: true, newlyReviewed: Boolean(row) };
}
