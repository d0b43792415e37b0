import { describe, expect, it } from "vitest";
import { csvCell, csvLine, csvStream } from "./csv";

describe("csvCell", () => {
  it.each([
    ["plain text", "topup", "topup"],
    ["a comma is quoted", "a,b", '"a,b"'],
    ["quotes are doubled", 'say "hi"', '"say ""hi"""'],
    ["a line break is quoted", "a\nb", '"a\nb"'],
    ["null is empty", null, ""],
    ["a bigint as digits", 12_340_000_000n, "12340000000"],
    ["a negative decimal stays a number", "-25.50", "-25.50"],
    ["a formula is defused", '=HYPERLINK("x")', '"\'=HYPERLINK(""x"")"'],
    ["a leading @ is defused", "@cmd", "'@cmd"],
    ["a date in ISO form", new Date("2026-04-01T00:00:00Z"), "2026-04-01T00:00:00.000Z"],
    ["a negative number is left alone", -1.5, "-1.5"],
    ["a boolean as text", true, "true"],
    ["a spreadsheet formula is defused", "=SUM(A1)", "'=SUM(A1)"],
  ])("%s", (_label, input, expected) => {
    expect(csvCell(input)).toBe(expected);
  });

  it("a line ends with CRLF", () => {
    expect(csvLine(["a", 1, null])).toBe("a,1,\r\n");
  });
});

describe("csvStream", () => {
  it("writes the header then each page, pulling pages lazily", async () => {
    const pulled: number[] = [];
    async function* pages() {
      for (let i = 0; i < 3; i++) {
        pulled.push(i);
        yield [[`row${i}`, i]];
      }
    }
    const reader = csvStream(["name", "n"], pages()).getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe("name,n\r\n");
    expect(pulled).toEqual([]);
    let rest = "";
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      rest += new TextDecoder().decode(r.value);
    }
    expect(rest).toBe("row0,0\r\nrow1,1\r\nrow2,2\r\n");
    expect(pulled).toEqual([0, 1, 2]);
  });
});
