import { defineConfig } from "drizzle-kit";

// Only used to generate migrations from db/schema; no database connection needed.
export default defineConfig({
  dialect: "postgresql",
  schema: "./db/schema/index.ts",
  out: "./db/migrations",
  casing: "snake_case",
});
