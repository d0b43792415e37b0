import { sql, type SQL } from "drizzle-orm";
import { BLEND } from "./pricing";

/**
 * The SQL twin of ./comparable.ts, over columns of nano-USD per 1k tokens and a modality[]
 * column; comparable.int.test.ts proves they agree. The blend's numbers are BLEND's (./pricing.ts),
 * written into the text as literals so the statement stays the same for every call.
 */

const [blendIn, blendOut, blendScale] = [BLEND.input, BLEND.output, BLEND.per1kTo1M].map((n) => sql.raw(n.toString()));

/** True when the listing only embeds (priced by input), as priceBasis(...) === "input". */
export function inputBasisSql(modalities: SQL): SQL {
  return sql`(not (${modalities} && array['chat', 'completion']::modality[]))`;
}

/** Nano-USD per 1M tokens, exact in numeric: input·1000 or (3·in + out)·250, as comparablePer1MNano. */
export function comparablePer1MSql(c: { inputPer1k: SQL; outputPer1k: SQL; modalities: SQL }): SQL {
  return sql`(case when ${inputBasisSql(c.modalities)} then ${c.inputPer1k}::numeric * 1000 else (${blendIn} * ${c.inputPer1k}::numeric + ${blendOut} * ${c.outputPer1k}) * ${blendScale} end)`;
}
