// `npm run platform:create -- [--name "Acme Platform"] [--slug platform] [--add email --role finance]`
// Creates (or finds) the one platform organisation, whose finance members read
// the whole platform's books, and optionally adds an existing user to it.
// Uses DATABASE_URL, or the embedded database under DATA_DIR (stop `npm start` first).
import { parseArgs } from "node:util";
import { and, eq } from "drizzle-orm";
import { createDb, createPool } from "../db/client";
import { memberships, users } from "../db/schema";
import { EnvError, parseEnv } from "../server/env";
import { ensurePlatformOrg } from "../server/orgs/service";
import { openDatabase, prepareDatabase } from "./lib/database";

const { values } = parseArgs({
  options: {
    name: { type: "string", default: "tokenmarket platform" },
    slug: { type: "string", default: "platform" },
    add: { type: "string" },
    role: { type: "string", default: "finance" },
  },
});

async function main() {
  if (!["owner", "developer", "finance"].includes(values.role!)) throw new Error(`--role must be owner, developer or finance`);
  const database = await openDatabase(parseEnv(process.env));
  try {
    await prepareDatabase(database.url, null);
    const pool = createPool(database.url, 2);
    const db = createDb(pool);
    const org = await ensurePlatformOrg(db, { name: values.name, slug: values.slug });
    console.log(`platform organisation: ${org.name} (${org.slug}, ${org.id})`);
    if (values.add) {
      const [user] = await db.select().from(users).where(eq(users.email, values.add.toLowerCase()));
      if (!user) throw new Error(`no user with email ${values.add}: they must sign up first`);
      await db
        .insert(memberships)
        .values({ orgId: org.id, userId: user.id, role: values.role as "finance" })
        .onConflictDoUpdate({ target: [memberships.orgId, memberships.userId], set: { role: values.role as "finance" } });
      const [m] = await db
        .select()
        .from(memberships)
        .where(and(eq(memberships.orgId, org.id), eq(memberships.userId, user.id)));
      console.log(`${user.email} is now ${m!.role} of the platform organisation`);
    }
    await pool.end();
  } finally {
    await database.embedded?.stop();
  }
}

main().catch((err) => {
  console.error(err instanceof EnvError ? err.message : err instanceof Error ? err.message : err);
  process.exit(1);
});
