// The cycle rules again, over the graph that includes type-only imports: a cycle through types
// still ties two modules together (`npm run deps:check` runs both configurations).
const base = require("./.dependency-cruiser.cjs");

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: base.forbidden.filter((rule) => rule.to?.circular),
  options: { ...base.options, tsPreCompilationDeps: true },
};
