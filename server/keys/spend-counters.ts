import { sql, type SQL } from "drizzle-orm";
import { addCounts } from "../lib/upsert";

/**
 * A key's spend per UTC day (key_spend_daily), which the key's spend limit reads
 * (./period.ts, reservations): settlement's window adds its events to it as one CTE over
 * the window's events `ev`, one upsert per (key, day).
 */
export function keySpendUpsert(): SQL {
  return sql`
key_spend AS (
  INSERT INTO key_spend_daily (org_id, key_id, day, spend_nano)
  SELECT org_id, key_id, (started_at AT TIME ZONE 'UTC')::date, sum(cost_nano)::int8
  FROM ev GROUP BY 1, 2, 3 ORDER BY 2, 3
  ON CONFLICT (key_id, day) DO UPDATE SET ${addCounts("key_spend_daily", ["spend_nano"])}
)`;
}
