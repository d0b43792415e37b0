/**
 * Simulated hardware for some demo listings, so `npm start` shows measured energy beside the
 * declared figure (issue #21): the demo upstream reports the joules each response took, by the
 * `x-energy-joules` header or as `usage.energy_joules` (in the JSON body, or the final usage chunk
 * of a stream), the two ways a provider's server may (README "Measured energy").
 *
 * The upstream knows which listing a request is for by the upstream credential the proxy sends
 * (the seed gives each demo listing its own, demoUpstreamCredential). Joules are the response's
 * tokens (prompt, cached included, + completion: the tokens the platform's measured figure
 * counts) divided by the profile's real tokens per joule. One profile is honest (within ±10 % of
 * what the seed declares), one over-declares (measured well below declared), one is honest by body.
 */

export type EnergyProfile = {
  /** The listing's provider org slug and model slug (db/seed.ts demoListings). */
  org: string;
  modelSlug: string;
  /** What the simulated hardware really serves per joule (= tokens per second per watt). */
  tokensPerJoule: number;
  via: "header" | "body";
};

export const DEMO_ENERGY_PROFILES: readonly EnergyProfile[] = [
  // Declared 9.2: honest (measured 2 % below), by header.
  { org: "second-provider", modelSlug: "llama-3.1-8b", tokensPerJoule: 9.0, via: "header" },
  // Declared 1.1: honest (measured 4.5 % below), in the body or the stream's usage chunk.
  { org: "demo-provider", modelSlug: "llama-3.1-70b", tokensPerJoule: 1.05, via: "body" },
  // Declared 7.4: over-declared (measured 34 % below), in the body or the stream's usage chunk.
  { org: "second-provider", modelSlug: "qwen2.5-7b", tokensPerJoule: 4.9, via: "body" },
];

/** The upstream credential the seed gives a demo listing (stored encrypted; the proxy sends it as a bearer token). */
export const demoUpstreamCredential = (org: string, modelSlug: string) => `demo-upstream-key-${org}-${modelSlug}`;

const byAuthorization = new Map(DEMO_ENERGY_PROFILES.map((p) => [`Bearer ${demoUpstreamCredential(p.org, p.modelSlug)}`, p]));

/** The profile of the listing a request is for, by its Authorization header; undefined for listings without one. */
export function energyProfileFor(authorization: string | undefined): EnergyProfile | undefined {
  return authorization === undefined ? undefined : byAuthorization.get(authorization);
}

/** Joules a response of `tokens` (prompt + completion) takes on the profile's hardware, to the microjoule. */
export function demoEnergyJoules(profile: EnergyProfile, tokens: number): number {
  return Math.round((tokens / profile.tokensPerJoule) * 1e6) / 1e6;
}
