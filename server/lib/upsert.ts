import { sql } from "drizzle-orm";

/** An upsert's SET list that adds the new row's counts to the stored row's: `c = table.c + excluded.c, …`. */
export const addCounts = (table: string, columns: readonly string[]) => sql.raw(columns.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(", "));
