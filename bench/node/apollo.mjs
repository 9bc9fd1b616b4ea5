// Apollo Server 4 serving errata's schema (SCHEMA, printed by `peers --sdl`) over
// errata's catalog (CATALOG_JSON, from `errata catalog docs catalog --format json`).
// Run with NODE_ENV=production, as the anchor benchmark does. RESPONSE_CACHE=1
// adds Apollo's full-response cache, which keeps answers by the schema's
// @cacheControl hints, as errata's response cache does.
import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { GraphQLError } from 'graphql';
import responseCachePlugin from '@apollo/server-plugin-response-cache';

const typeDefs = readFileSync(process.env.SCHEMA, 'utf8');
const catalog = JSON.parse(readFileSync(process.env.CATALOG_JSON, 'utf8'));
const started = Date.now();
const screaming = (name) => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

const errorFields = (e) => ({
  id: e.id, code: e.code, slug: e.slug, class: screaming(e.class), status: e.status,
  graphqlCode: e.graphqlCode, message: e.message, description: e.description,
  advice: e.adviceText, deprecatedSince: e.deprecated ? e.deprecated.since : null,
});

const resolvers = {
  Query: { catalog: () => ({}), system: () => ({}) },
  SystemQuery: { info: () => ({ version: '0.1.0', uptime: Math.floor((Date.now() - started) / 1000), dataCreatedAt: '' }) },
  CatalogQuery: {
    name: () => catalog.catalog,
    version: () => catalog.version,
    errors: (_, { filter, first, after }) => {
      if (first < 1 || first > 100) throw new GraphQLError(`Argument "first" must be between 1 and 100.`);
      const start = after ? parseInt(after.slice(1), 16) : 0;
      const words = (filter?.search ?? '').toLowerCase().split(/\s+/).filter(Boolean);
      const matching = catalog.errors.filter((e) =>
        (!filter?.domain || e.domain === filter.domain) &&
        (!filter?.class || screaming(e.class) === filter.class) &&
        words.every((w) => `${e.code} ${e.id} ${e.slug} ${e.message} ${e.description}`.toLowerCase().includes(w)));
      const from = matching.findIndex((e) => e.code >= start);
      const rest = from < 0 ? [] : matching.slice(from);
      const page = rest.slice(0, first);
      return {
        nodes: page.map(errorFields), totalCount: matching.length, hasNextPage: rest.length > page.length,
        endCursor: page.length ? 'c' + (page[page.length - 1].code + 1).toString(16) : null,
      };
    },
    error: (_, { key }) => {
      const e = catalog.errors.find((x) => x.id === key || x.slug === key || String(x.code) === key);
      if (!e) throw new GraphQLError(`No catalog entry matches "${key}".`, { extensions: { code: 'NOT_FOUND' } });
      return errorFields(e);
    },
  },
};

const plugins = process.env.RESPONSE_CACHE === '1' ? [responseCachePlugin()] : [];
const server = new ApolloServer({ typeDefs, resolvers, plugins });
const port = Number(process.env.PORT || 4000);
const { url } = await startStandaloneServer(server, { listen: { port, host: '127.0.0.1' } });
console.log(`apollo ready at ${url} NODE_ENV=${process.env.NODE_ENV}`);
