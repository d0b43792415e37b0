/**
 * Query options for dashboards that show live numbers: refetched when the tab regains focus
 * and every 30 s while it is visible (not in the background), so a page left open stays true
 * without reloading and without polling hard.
 */
export const live = { refetchOnWindowFocus: true, refetchInterval: 30_000, refetchIntervalInBackground: false } as const;
