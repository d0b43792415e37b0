/** An error as tRPC hands it to forms (or a thrown DomainError): its message names fields by their API names. */
type ErrorLike = { message: string } | null | undefined;

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * An API error in the form's own words: every `field: …` the server names is called by the
 * label the form shows ("amountUsd: use whole cents" → "Amount (USD): use whole cents"),
 * so nobody reads an internal field name. Fields missing from `labels` stay as they are.
 */
export function formError(error: ErrorLike, labels: Record<string, string>): string | undefined {
  if (!error) return undefined;
  let text = error.message;
  // Longest names first: "prices.cachedInput" before a shorter name it might contain.
  for (const field of Object.keys(labels).sort((a, b) => b.length - a.length)) {
    text = text.replace(new RegExp(`(^|; )${escapeRegExp(field)}: `, "g"), `$1${labels[field]}: `);
  }
  return text;
}
