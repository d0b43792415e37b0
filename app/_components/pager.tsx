"use client";
import { useState } from "react";

/**
 * Keyset paging in the browser: the cursors of the pages visited, so going back needs no
 * refetch from the start. `cursor` is the current page's (null on the first); `reset` returns
 * to the first page (when a filter changes).
 */
export function useCursorPages() {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  return {
    cursor: cursors[cursors.length - 1] ?? null,
    hasPrevious: cursors.length > 1,
    previous: () => setCursors((c) => c.slice(0, -1)),
    next: (cursor: string) => setCursors((c) => [...c, cursor]),
    reset: () => setCursors([null]),
  };
}

export type CursorPages = ReturnType<typeof useCursorPages>;

/**
 * The buttons under a paged table: "Previous" / "Next", or "Newer" / "Older" for logs read
 * newest first. `nextCursor` is the page's (none on the last page).
 */
export function Pager({
  pages,
  nextCursor,
  newestFirst = false,
  align = "between",
}: {
  pages: CursorPages;
  nextCursor: string | null | undefined;
  newestFirst?: boolean;
  align?: "between" | "end";
}) {
  return (
    <div className={align === "between" ? "flex justify-between" : "flex items-center justify-end gap-2 text-sm"}>
      <button className="btn-secondary" type="button" disabled={!pages.hasPrevious} onClick={pages.previous}>
        {newestFirst ? "Newer" : "Previous"}
      </button>
      <button className="btn-secondary" type="button" disabled={!nextCursor} onClick={() => nextCursor && pages.next(nextCursor)}>
        {newestFirst ? "Older" : "Next"}
      </button>
    </div>
  );
}
