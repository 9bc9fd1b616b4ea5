// Runs the graphql-http audit suite against a running errata server.
// Usage: node audit.mjs http://127.0.0.1:PORT/graphql
// Prints each failing audit and a closing "N passed, N failed" line; exits 1 on any error or warning.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs URL');
  process.exit(2);
}
const results = await auditServer({ url });
let failed = 0;
for (const result of results) {
  if (result.status === 'ok') continue;
  if (result.status === 'error' || result.status === 'warn') failed++;
  console.log(`${result.status.toUpperCase()} ${result.id} ${result.name}: ${result.reason}`);
}
console.log(`audit: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
