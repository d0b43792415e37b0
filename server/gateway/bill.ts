/** What a finished request was billed (billing.ts): the tokens as billed and their cost. Its own file so client dialects (dialects/) can read it without the relay. */
export type Bill = { costNano: bigint; estimated: boolean; promptTokens: number; outputTokens: number; cachedTokens: number };
