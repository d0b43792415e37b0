import { sql, type SQL } from "drizzle-orm";

/**
 * The SQL twin of ./comparable.ts (the one home of the 3:1 blend in SQL), over columns of
 * nano-USD per 1k tokens and a modality[] column; comparable.int.test.ts proves they agree.
 */

/** True when the listing only embeds (priced by input), as priceBasis(...) === "input". */
export function inputBasisSql(modalities: SQL): SQL {
  return sql`(not (${modalities} && array['chat', 'completion']::modality[]))`;
}

/** Nano-USD per 1M tokens, exact in numeric: input·1000 or (3·in + out)·250, as comparablePer1MNano. */
export function comparablePer1MSql(c: { inputPer1k: SQL; outputPer1k: SQL; modalities: SQL }): SQL {
  return sql`(case when ${inputBasisSql(c.modalities)} then ${c.inputPer1k}::numeric * 1000 else (3 * ${c.inputPer1k}::numeric + ${c.outputPer1k}) * 250 end)`;
}
