import { defineConfig } from "drizzle-kit";

// Only `generate` is used (migrations are committed and applied by src/migrate.ts);
// never `push`.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/schema/index.ts",
  out: "./drizzle",
  strict: true,
  verbose: true,
});
