import { defineConfig } from 'drizzle-kit';

// `npm run db:generate -w gatehouse` writes a new versioned migration after a change to any
// subsystem's tables.ts; migrations are committed and applied at start and by `gatehouse migrate`.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/*/tables.ts',
  out: './drizzle',
});
