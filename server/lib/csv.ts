/**
 * CSV for exports (RFC 4180): fields with commas, quotes or line breaks are quoted and
 * quotes doubled. Text a spreadsheet would run as a formula (=, +, -, @, tab, CR at the
 * start) gets a leading apostrophe, except plain numbers (and numbers, amounts and dates
 * themselves), so a reference or name written by someone else cannot execute in the
 * reader's spreadsheet.
 */
export type Cell = string | number | bigint | boolean | Date | null | undefined;

const NUMBER_RE = /^-?\d+(\.\d+)?$/;

export function csvCell(v: Cell): string {
  if (v === null || v === undefined) return "";
  let s = v instanceof Date ? v.toISOString() : String(v);
  if (typeof v === "string" && /^[=+\-@\t\r]/.test(s) && !NUMBER_RE.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(cells: readonly Cell[]): string {
  return cells.map(csvCell).join(",") + "\r\n";
}

/**
 * A byte stream of CSV: the header, then every row the pages yield. Pages are pulled
 * one at a time as the client reads, so memory stays flat however long the range.
 */
export function csvStream(header: readonly string[], pages: AsyncIterable<readonly (readonly Cell[])[]>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const iterator = pages[Symbol.asyncIterator]();
  let headerSent = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!headerSent) {
        headerSent = true;
        controller.enqueue(encoder.encode(csvLine(header)));
        return;
      }
      const next = await iterator.next();
      if (next.done) {
        controller.close();
        return;
      }
      controller.enqueue(encoder.encode(next.value.map(csvLine).join("")));
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}
