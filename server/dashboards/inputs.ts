import { z } from "zod";
import { usageStatus } from "../usage/contract";
import { isTimeZone } from "./rules";

/** The dashboards' inputs: periods in the viewer's time zone, the activity log's filter and page. */

const timeZone = z.string().max(64, "must be at most 64 characters").refine(isTimeZone, "must be an IANA time zone such as Europe/Paris").default("UTC");
const uuid = (what: string) => z.uuid(`is not a valid ${what} id`);

export const overviewInput = z.object({ tz: timeZone });
export const seriesInput = z
  .object({
    tz: timeZone,
    granularity: z.enum(["hour", "day"]).default("day"),
    /** Days back, today included. */
    days: z.number().int().min(1, "must be at least 1").max(93, "must be at most 93").default(30),
    groupBy: z.enum(["listing", "key"]).default("listing"),
  })
  .refine((v) => v.granularity === "day" || v.days <= 7, { message: "must be at most 7 for hourly charts", path: ["days"] });
export const activityFilter = z
  .object({
    keyId: uuid("key").optional(),
    listingId: uuid("listing").optional(),
    status: usageStatus.optional(),
    /** Inclusive start and exclusive end of started_at. */
    from: z.coerce.date({ message: "must be a date" }).optional(),
    to: z.coerce.date({ message: "must be a date" }).optional(),
  })
  .refine((v) => !v.from || !v.to || v.from < v.to, { message: "must be after from", path: ["to"] });
export const activityInput = z.object({
  filter: activityFilter.default({}),
  cursor: z.string().max(200).optional(),
  limit: z.number().int().min(1).max(200, "must be at most 200").default(50),
});
export const activityTotalsInput = z.object({ filter: activityFilter.default({}) });
export const periodInput = z.object({
  tz: timeZone,
  days: z.number().int().min(1, "must be at least 1").max(93, "must be at most 93").default(30),
});

export type OverviewInput = z.infer<typeof overviewInput>;
export type SeriesInput = z.infer<typeof seriesInput>;
export type ActivityFilter = z.infer<typeof activityFilter>;
export type ActivityInput = z.infer<typeof activityInput>;
export type PeriodInput = z.infer<typeof periodInput>;

/** Whose figures, and the instant they are read at (tests and benches pin it; default: now). */
export type OrgScope = { orgId: string; now?: Date };
export type OverviewParams = OverviewInput & OrgScope;
export type SeriesParams = SeriesInput & OrgScope;
export type PeriodParams = PeriodInput & OrgScope;
export type ActivityParams = ActivityInput & { orgId: string };
export type ActivityFilterParams = { orgId: string; filter: ActivityFilter };
