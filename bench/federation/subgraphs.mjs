// The four subgraphs of the federation benchmark (accounts, products, reviews, inventory) in one Node process, each
// at POST /graphql/<name>, built with @apollo/subgraph from the schemas in workload/ over the data in
// workload/data.json. In fixture mode (the default) each answer is memoised by the exact request body, so after the
// first request of a kind a subgraph only looks up and writes bytes: the gateway is what the benchmark measures.
// GET /stats answers {requests: {<subgraph>: n}, bytes (response bodies sent), computed, memoised}; the bench reads it around each measured window.
//
// node subgraphs.mjs --port 7200 [--host 127.0.0.1] [--no-memo]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { executeBody, serveSubgraphs } from './lib/fixture-server.mjs';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '7200' },
    host: { type: 'string', default: '127.0.0.1' },
    'no-memo': { type: 'boolean', default: false },
  },
});
const workload = new URL('./workload/', import.meta.url);
const data = JSON.parse(readFileSync(new URL('data.json', workload), 'utf8'));
const byId = (rows, key) => new Map(rows.map((r) => [r[key], r]));
const users = byId(data.users, 'id');
const products = byId(data.products, 'upc');
const inventory = byId(data.inventory, 'upc');
const reviews = byId(data.reviews, 'id');

// Resolvers of each subgraph: an entity is resolved from its representation by key, and reads only its own data.
const resolvers = {
  accounts: {
    Query: {
      me: () => users.get('1'),
      user: (_, { id }) => users.get(id) ?? null,
      users: () => data.users,
    },
    User: { __resolveReference: (ref) => users.get(ref.id) ?? null },
  },
  products: {
    Query: { topProducts: (_, { first }) => data.products.slice(0, first) },
    Product: { __resolveReference: (ref) => products.get(ref.upc) ?? null },
  },
  inventory: {
    Product: {
      // Representations carry price and weight (@requires); the estimate itself is data.
      __resolveReference: (ref) => (inventory.has(ref.upc) ? { ...ref, ...inventory.get(ref.upc) } : null),
    },
  },
  reviews: {
    Review: {
      __resolveReference: (ref) => reviews.get(ref.id) ?? null,
      product: (review) => ({ upc: review.product }),
      // @provides(fields: "username"): the author comes with its username.
      author: (review) => ({ id: review.author, username: users.get(review.author)?.username ?? null }),
    },
    Product: {
      reviews: (product) => data.reviews.filter((r) => r.product === product.upc),
    },
    User: {
      username: (user) => user.username ?? users.get(user.id)?.username ?? null,
      reviews: (user) => (data.userReviews[user.id] ?? []).map((id) => reviews.get(id)),
    },
  },
};

const schemas = new Map();
for (const name of Object.keys(resolvers)) {
  const typeDefs = parse(readFileSync(new URL(`${name}.graphql`, workload), 'utf8'));
  schemas.set(name, buildSubgraphSchema([{ typeDefs, resolvers: resolvers[name] }]));
}

const requests = Object.fromEntries([...schemas.keys()].map((n) => [n, 0]));
const memo = new Map();
let computed = 0;
let memoised = 0;
let bytesSent = 0;

async function answer(name, body) {
  const key = `${name}\n${body}`;
  const hit = args['no-memo'] ? undefined : memo.get(key);
  if (hit) {
    memoised++;
    return hit;
  }
  const result = await executeBody(schemas.get(name), body);
  computed++;
  const bytes = Buffer.from(JSON.stringify(result));
  if (!args['no-memo'] && !result.errors) {
    memo.set(key, bytes);
  }
  return bytes;
}

serveSubgraphs({
  schemas,
  port: args.port,
  host: args.host,
  before: (req, res) => {
    if (req.method !== 'GET' || req.url !== '/stats') {
      return false;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ requests, bytes: bytesSent, computed, memoised }));
    return true;
  },
  answer: async (name, body) => {
    requests[name]++;
    const bytes = await answer(name, body);
    bytesSent += bytes.length;
    return bytes;
  },
});
