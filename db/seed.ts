import { createHash } from "node:crypto";
import { and, asc, eq, inArray, notLike } from "drizzle-orm";
import type { Db } from "./client";
import { apiKeys, listingPrices, listings, memberships, organizations, topups, users, type MemberRole } from "./schema";
import { hashPassword } from "../server/auth/password";
import { credentialLast4, encryptCredential } from "../server/catalog/crypto";
import { parsePricePer1kNano } from "../server/catalog/pricing";
import { createTopUp, payLocally } from "../server/payments/checkout";
import { createKey } from "../server/keys/service";
import { createPayments } from "../server/payments/config";
import { receiveWebhook } from "../server/payments/webhook";
import { generateSecret, hashSecret } from "../server/keys/secret";
import { keyStatus } from "../server/keys/status";
import { uuidv7 } from "../server/lib/ids";
import { ensurePlatformOrg } from "../server/orgs/service";
import { demoUpstreamCredential } from "../server/upstream-demo/energy-profiles";

export type DemoSignIn = { role: string; email: string; password: string; org: string };

/** Known demo credentials: printed at start, never used outside demo databases. */
export const DEMO_PASSWORD = "tokenmarket-demo";
const DEMO_EMAIL_DOMAIN = "demo.tokenmarket.test";
export const demoUsers = {
  provider: { email: "provider@demo.tokenmarket.test", name: "Pat Provider", org: "Demo Provider", slug: "demo-provider", role: "owner" },
  provider2: { email: "provider2@demo.tokenmarket.test", name: "Quinn Provider", org: "Second Provider", slug: "second-provider", role: "owner" },
  buyer: { email: "buyer@demo.tokenmarket.test", name: "Bea Buyer", org: "Demo Buyer", slug: "demo-buyer", role: "owner" },
  finance: { email: "finance@demo.tokenmarket.test", name: "Fin Ance", org: "tokenmarket platform", slug: "platform", role: "finance" },
} as const satisfies Record<string, { email: string; name: string; org: string; slug: string; role: MemberRole }>;

export type DemoSeedOptions = {
  /** Base URL of the local demo upstream that serves the demo listings (`http://127.0.0.1:8790/v1`). */
  upstreamUrl: string;
  /** The key upstream credentials are encrypted with (CATALOG_ENCRYPTION_KEY). */
  encryptionKey: Buffer;
};

/** Seeds the demo into an empty database; a second run changes nothing. */
export async function seedDemo(db: Db, opts: DemoSeedOptions): Promise<{ created: boolean; signIns: DemoSignIn[] }> {
  const signIns = Object.entries(demoUsers).map(([role, u]) => ({ role, email: u.email, password: DEMO_PASSWORD, org: u.org }));
  const [existing] = await db.select({ id: users.id }).from(users).where(eq(users.email, demoUsers.buyer.email));
  if (!existing) {
    // The demo's users have a published password and one reads the platform's books.
    const [other] = await db
      .select({ email: users.email })
      .from(users)
      .where(notLike(users.email, `%@${DEMO_EMAIL_DOMAIN}`))
      .limit(1);
    if (other) throw new Error(`refusing to seed the demo into a database that has other users (${other.email}): demo users have a known password`);
    await seedDemoUsers(db);
  }
  await seedDemoCatalog(db, opts);
  return { created: !existing, signIns };
}

async function seedDemoUsers(db: Db) {
  const passwordHash = await hashPassword(DEMO_PASSWORD);
  const platform = await ensurePlatformOrg(db, { name: demoUsers.finance.org, slug: demoUsers.finance.slug });
  await db.transaction(async (tx) => {
    for (const u of Object.values(demoUsers)) {
      const [user] = await tx.insert(users).values({ email: u.email, name: u.name, passwordHash }).returning();
      let orgId = platform.id;
      if (u.slug !== platform.slug) {
        const [org] = await tx.insert(organizations).values({ name: u.org, slug: u.slug }).returning();
        orgId = org!.id;
      }
      await tx.insert(memberships).values({ orgId, userId: user!.id, role: u.role });
      await tx.update(users).set({ activeOrgId: orgId }).where(eq(users.id, user!.id));
    }
  });
}

type DemoListing = {
  org: string;
  modelSlug: string;
  name: string;
  family: string;
  upstreamModel: string;
  contextLength: number;
  modalities: ("chat" | "completion" | "embeddings")[];
  tokensPerWatt: number;
  hardware: string;
  grid: number;
  region: string;
  /** [input, output, cached input] in dollars per 1M: the older version, then the current one. */
  prices: [[string, string, string], [string, string, string]];
  description: string;
};

/** Both demo providers sell Llama 3.1 8B (at different prices and efficiency) plus a model of their own. */
export const demoListings: DemoListing[] = [
  {
    org: demoUsers.provider.slug,
    modelSlug: "llama-3.1-8b",
    name: "Llama 3.1 8B Instruct",
    family: "llama-3.1-8b",
    upstreamModel: "llama-3.1-8b-instruct",
    contextLength: 131_072,
    modalities: ["chat", "completion"],
    tokensPerWatt: 6.5,
    hardware: "1× NVIDIA H100 SXM, vLLM, FP8",
    grid: 380,
    region: "eu-central",
    prices: [
      ["0.06", "0.12", "0.03"],
      ["0.05", "0.08", "0.025"],
    ],
    description: "Meta's 8B instruction-tuned model: fast, cheap, good for extraction and chat.",
  },
  {
    org: demoUsers.provider.slug,
    modelSlug: "llama-3.1-70b",
    name: "Llama 3.1 70B Instruct",
    family: "llama-3.1-70b",
    upstreamModel: "llama-3.1-70b-instruct",
    contextLength: 131_072,
    modalities: ["chat", "completion"],
    tokensPerWatt: 1.1,
    hardware: "4× NVIDIA H100 SXM, vLLM, FP8",
    grid: 380,
    region: "eu-central",
    prices: [
      ["0.90", "0.90", "0.45"],
      ["0.59", "0.79", "0.295"],
    ],
    description: "The 70B model for harder reasoning and longer answers.",
  },
  {
    org: demoUsers.provider.slug,
    modelSlug: "demo-embed-small",
    name: "Demo Embed Small",
    family: "demo-embed-small",
    upstreamModel: "demo-embed-small",
    contextLength: 8_192,
    modalities: ["embeddings"],
    tokensPerWatt: 60,
    hardware: "1× NVIDIA L4",
    grid: 380,
    region: "eu-central",
    prices: [
      ["0.03", "0", "0"],
      ["0.02", "0", "0"],
    ],
    description: "Small text embeddings for search and clustering.",
  },
  {
    org: demoUsers.provider2.slug,
    modelSlug: "llama-3.1-8b",
    name: "Llama 3.1 8B Instruct (Green)",
    family: "llama-3.1-8b",
    upstreamModel: "llama-3.1-8b-instruct",
    contextLength: 131_072,
    modalities: ["chat"],
    tokensPerWatt: 9.2,
    hardware: "1× NVIDIA H200, TensorRT-LLM, FP8",
    grid: 45,
    region: "eu-north",
    prices: [
      ["0.05", "0.07", "0.025"],
      ["0.055", "0.085", "0.0275"],
    ],
    description: "The same 8B model on newer hardware and a hydro-powered grid.",
  },
  {
    org: demoUsers.provider2.slug,
    modelSlug: "qwen2.5-7b",
    name: "Qwen 2.5 7B Instruct",
    family: "qwen2.5-7b",
    upstreamModel: "qwen2.5-7b-instruct",
    contextLength: 32_768,
    modalities: ["chat", "completion"],
    tokensPerWatt: 7.4,
    hardware: "1× NVIDIA H200, TensorRT-LLM, FP8",
    grid: 45,
    region: "eu-north",
    prices: [
      ["0.04", "0.10", "0.02"],
      ["0.03", "0.09", "0.015"],
    ],
    description: "Alibaba's 7B multilingual model, strong at code and maths for its size.",
  },
];

const DAY_MS = 86_400_000;

/** Publishes the demo listings that do not exist yet, each with an older and a current price. */
async function seedDemoCatalog(db: Db, opts: DemoSeedOptions) {
  const orgs = await db
    .select({ id: organizations.id, slug: organizations.slug })
    .from(organizations)
    .where(inArray(organizations.slug, [demoUsers.provider.slug, demoUsers.provider2.slug]));
  const now = Date.now();
  await db.transaction(async (tx) => {
    for (const d of demoListings) {
      const org = orgs.find((o) => o.slug === d.org);
      if (!org) continue;
      const id = uuidv7();
      const credential = demoUpstreamCredential(d.org, d.modelSlug);
      const [row] = await tx
        .insert(listings)
        .values({
          id,
          orgId: org.id,
          slug: `${d.org}/${d.modelSlug}`,
          modelSlug: d.modelSlug,
          name: d.name,
          description: d.description,
          family: d.family,
          contextLength: d.contextLength,
          modalities: d.modalities,
          upstreamBaseUrl: opts.upstreamUrl,
          upstreamModel: d.upstreamModel,
          upstreamCredentialEnc: encryptCredential(credential, opts.encryptionKey, id),
          upstreamCredentialLast4: credentialLast4(credential),
          tokensPerWatt: d.tokensPerWatt,
          energyHardware: d.hardware,
          energyMethod: "Average wall power of the serving nodes (IPMI) over a 30-minute load test at typical batch size",
          energyMeasuredOn: new Date(now - 45 * DAY_MS).toISOString().slice(0, 10),
          gridCarbonGPerKwh: d.grid,
          region: d.region,
          status: "published",
        })
        .onConflictDoNothing({ target: listings.slug })
        .returning({ id: listings.id });
      if (!row) continue;
      const [older, current] = d.prices;
      const version = (p: [string, string, string], daysAgo: number) => ({
        listingId: id,
        effectiveFrom: new Date(now - daysAgo * DAY_MS),
        inputPer1kNano: parsePricePer1kNano(p[0], "1M", "input"),
        outputPer1kNano: parsePricePer1kNano(p[1], "1M", "output"),
        cachedInputPer1kNano: parsePricePer1kNano(p[2], "1M", "cachedInput"),
      });
      await tx.insert(listingPrices).values([version(older, 30), version(current, 7)]);
    }
  });
}

/** Whether the demo users exist (so the launcher can print them again). */
export async function demoSeeded(db: Db): Promise<boolean> {
  const [row] = await db.select({ id: users.id }).from(users).where(eq(users.email, demoUsers.buyer.email));
  return Boolean(row);
}

/**
 * The demo buyer's API key. Its secret is derived from a fixed string so the
 * launcher can print it on every start without it being stored anywhere in
 * clear: like the demo passwords, it is public and only for demo databases.
 */
export const DEMO_KEY_NAME = "Demo key";
const DEMO_KEY_BYTES = createHash("sha256").update("tokenmarket demo buyer API key").digest();
export const DEMO_KEY_SECRET = generateSecret(DEMO_KEY_BYTES);

export type DemoKey = { secret: string; org: string; active: boolean; exampleModel: string | null };

/**
 * Ensures the demo buyer organisation has the demo key (hashed under `pepper`);
 * a second run changes nothing. A demo key someone revoked stays revoked.
 */
export async function seedDemoKey(db: Db, pepper: string, now = new Date()): Promise<DemoKey | null> {
  const [org] = await db.select({ id: organizations.id }).from(organizations).where(eq(organizations.slug, demoUsers.buyer.slug));
  if (!org) return null;
  const [owner] = await db.select({ id: users.id }).from(users).where(eq(users.email, demoUsers.buyer.email));
  const hash = hashSecret(DEMO_KEY_SECRET, pepper);
  const [existing] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.orgId, org.id), eq(apiKeys.name, DEMO_KEY_NAME)))
    .orderBy(asc(apiKeys.createdAt))
    .limit(1);
  let active = true;
  if (!existing) {
    await createKey(db, { name: DEMO_KEY_NAME, pepper, orgId: org.id, userId: owner?.id ?? null, now, secretBytes: DEMO_KEY_BYTES });
  } else {
    // A regenerated pepper (a fresh secrets file over an old database) would orphan the printed key.
    if (existing.hash !== hash) await db.update(apiKeys).set({ hash }).where(eq(apiKeys.id, existing.id));
    active = keyStatus(existing, now) === "active";
  }
  // The printed curl line calls chat completions: the first demo listing that chats, if published.
  const chat = demoListings.find((d) => d.modalities.includes("chat"))!;
  const [model] = await db
    .select({ slug: listings.slug })
    .from(listings)
    .where(and(eq(listings.status, "published"), eq(listings.slug, `${chat.org}/${chat.modelSlug}`)));
  return { secret: DEMO_KEY_SECRET, org: demoUsers.buyer.org, active, exampleModel: model?.slug ?? null };
}

/** The demo buyer's opening balance: a paid top-up made through the local checkout path. */
export const DEMO_TOPUP_USD = "50";

/**
 * Gives the demo buyer credit the way a buyer gets it: a top-up, "paid" in the
 * local checkout, whose signed webhook event goes through the same handler as
 * Stripe's. Only when the buyer has no top-up yet.
 */
export async function seedDemoCredits(db: Db, localWebhookSecret: string): Promise<void> {
  const [org] = await db.select().from(organizations).where(eq(organizations.slug, demoUsers.buyer.slug));
  const [owner] = await db.select().from(users).where(eq(users.email, demoUsers.buyer.email));
  if (!org || !owner) return;
  const [existing] = await db.select({ id: topups.id }).from(topups).where(eq(topups.orgId, org.id)).limit(1);
  if (existing) return;
  const payments = createPayments({ localWebhookSecret });
  const { id } = await createTopUp(db, {
    payments,
    orgId: org.id,
    userId: owner.id,
    amountUsd: DEMO_TOPUP_USD,
    limits: { minCents: 1, maxCents: 100_000_000 },
    appUrl: "",
  });
  await payLocally(db, {
    payments,
    deliver: (payload, signature) => receiveWebhook(db, { payments, rawBody: payload, signature }),
    orgId: org.id,
    topupId: id,
    outcome: "pay",
  });
}
