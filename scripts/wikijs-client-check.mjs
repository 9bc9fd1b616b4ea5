// Validates every GraphQL operation of Wiki.js's web client that touches
// the given parts of the schema against a running errata, with graphql-js,
// so that "its client sends them unchanged" is checked, not assumed. The
// operations are read from a Wiki.js checkout (`client/`), never copied
// here: Wiki.js is AGPL-licensed.
//
// Usage: node scripts/wikijs-client-check.mjs WIKIJS_DIR URL [PART...]
//   e.g. node scripts/wikijs-client-check.mjs /tmp/wiki http://127.0.0.1:8080/graphql pages search
// Needs tests/js's graphql (scripts/test installs it). Exits 1 when any
// operation fails validation.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { getIntrospectionQuery, buildClientSchema, parse, validate } = await import(
  path.join(here, '..', 'tests', 'js', 'node_modules', 'graphql', 'index.mjs')
);

const [dir, url, ...parts] = process.argv.slice(2);
if (!dir || !url) {
  console.error('usage: wikijs-client-check.mjs WIKIJS_DIR URL [PART...]');
  process.exit(2);
}
const wanted = parts.length ? parts : ['pages', 'search'];
const touches = new RegExp(`\\b(${wanted.join('|')})\\s*\\{`);

function* files(d) {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (/\.(vue|js|gql)$/.test(e.name)) yield p;
  }
}

const operations = [];
for (const f of files(path.join(dir, 'client'))) {
  const text = fs.readFileSync(f, 'utf8');
  const docs = f.endsWith('.gql')
    ? [text]
    : [...text.matchAll(/gql`([\s\S]*?)`/g)].map((m) => m[1].replace(/\$\{[^}]*\}/g, ''));
  for (const d of docs) if (touches.test(d)) operations.push([path.relative(dir, f), d]);
}

const answer = await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ query: getIntrospectionQuery() }),
});
const schema = buildClientSchema((await answer.json()).data);
let failed = 0;
for (const [file, text] of operations) {
  const errors = validate(schema, parse(text));
  if (errors.length) {
    failed += 1;
    console.log(`FAIL ${file}: ${errors.map((e) => e.message).join(' | ')}`);
  } else {
    console.log(`ok   ${file}`);
  }
}
console.log(`${operations.length - failed} of ${operations.length} operations validate`);
process.exit(failed ? 1 : 0);
