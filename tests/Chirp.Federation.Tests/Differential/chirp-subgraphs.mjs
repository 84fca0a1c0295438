// Chirp's three subgraphs (users, tweets, notifications) in one Node process for the differential suite: the
// checked-in SDLs of schema/ served by @apollo/subgraph over fixed data, each at POST /graphql/<name>. Some ids fail
// on purpose (see `data` below). POST /control {"down": [names]} makes those subgraphs drop every connection, as a
// crashed service would. The packages come from bench/federation (npm ci there; scripts/test does).
// It stops when its stdin closes.
//
// node chirp-subgraphs.mjs --port N
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { exitWhenStdinCloses, readBody, serveSubgraphs } from '../../../bench/federation/lib/fixture-server.mjs';

const require = createRequire(new URL('../../../bench/federation/package.json', import.meta.url));
const { parse, GraphQLError } = require('graphql');
const { buildSubgraphSchema } = require('@apollo/subgraph');

const { values: args } = parseArgs({ options: { port: { type: 'string', default: '0' } } });

const fail = (message, code) => {
  throw new GraphQLError(message, { extensions: { code } });
};

// u-boom fails as an entity (INTERNAL); u-missing has no row, so its entity is null.
const users = new Map([
  ['u1', { id: 'u1', handle: 'alice', displayName: 'Alice', createdAt: '2026-01-01T00:00:00Z' }],
  ['u2', { id: 'u2', handle: 'bob', displayName: 'Bob', createdAt: '2026-01-02T00:00:00Z' }],
]);
const tweets = [
  { id: 't5', text: 'orphan', createdAt: '2026-02-05T00:00:00Z', author: 'u-missing' },
  { id: 't4', text: 'cursed', createdAt: '2026-02-04T00:00:00Z', author: 'u-boom' },
  { id: 't3', text: 'first!', createdAt: '2026-02-03T00:00:00Z', author: 'u2', retweetOf: 't1' },
  { id: 't2', text: 'hello from bob', createdAt: '2026-02-02T00:00:00Z', author: 'u2' },
  { id: 't1', text: 'first!', createdAt: '2026-02-01T00:00:00Z', author: 'u1' },
];
const tweetById = new Map(tweets.map((t) => [t.id, t]));
const connection = (rows, first, after) => {
  const start = after ? rows.findIndex((t) => `c:${t.id}` === after) + 1 : 0;
  const page = rows.slice(start, start + first);
  return {
    edges: page.map((t) => ({ cursor: `c:${t.id}`, node: t })),
    nodes: page,
    pageInfo: { hasNextPage: start + first < rows.length, endCursor: page.length ? `c:${page.at(-1).id}` : null },
  };
};

const resolvers = {
  users: {
    Query: {
      me: () => users.get('u1'),
      user: (_, { id }) => (id === 'forbidden' ? fail('You may not see this user.', 'FORBIDDEN') : users.get(id) ?? null),
      userByHandle: (_, { handle }) => [...users.values()].find((u) => u.handle === handle) ?? null,
    },
    Mutation: {
      signUp: (_, { input }) => ({ user: { id: `new-${input.handle}`, handle: input.handle, displayName: input.displayName, createdAt: '2026-03-01T00:00:00Z' } }),
      updateProfile: (_, { input }) => ({ user: { ...users.get('u1'), displayName: input.displayName } }),
      changePassword: () => fail('The current password is wrong.', 'BAD_USER_INPUT'),
    },
    User: {
      __resolveReference: (ref) => (ref.id === 'u-boom' ? fail('users table is locked (db-3.internal)', 'INTERNAL') : users.get(ref.id) ?? null),
    },
  },
  tweets: {
    Query: {
      tweet: (_, { id }) => (id === 'boom' ? fail('tweets index corrupt', 'INTERNAL') : tweetById.get(id) ?? null),
      myTweets: (_, { first, after }) => connection(tweets.filter((t) => t.author === 'u1'), first, after),
    },
    Mutation: {
      createTweet: (_, { input }) =>
        input.text.length > 280 ? fail('The text is too long.', 'BAD_USER_INPUT') : { tweet: { id: 'new-tweet', text: input.text, createdAt: '2026-03-01T00:00:00Z', author: 'u1' } },
      retweet: (_, { input }) => (tweetById.has(input.tweetId) ? { tweet: tweetById.get('t3'), created: false } : fail('No such tweet.', 'NOT_FOUND')),
    },
    Subscription: { tweetRetweeted: { subscribe: () => fail('not in this suite', 'INTERNAL') } },
    Tweet: {
      __resolveReference: (ref) => tweetById.get(ref.id) ?? null,
      author: (t) => ({ id: t.author }),
      retweetOf: (t) => (t.retweetOf ? tweetById.get(t.retweetOf) : null),
      retweetCount: (t) => tweets.filter((r) => r.retweetOf === t.id).length,
    },
    User: {
      __resolveReference: (ref) => ({ id: ref.id }),
      tweets: (u, { first, after }) => connection(tweets.filter((t) => t.author === u.id), first, after),
    },
  },
  notifications: {
    Mutation: {
      updateEmailSettings: (_, { input }) => ({ emailSettings: { address: input.address ?? null, verified: false, notifyOnRetweet: input.notifyOnRetweet ?? false } }),
    },
    User: {
      __resolveReference: (ref) => ({ id: ref.id }),
      emailSettings: (u) =>
        u.id === 'u1' ? { address: 'alice@example.test', verified: true, notifyOnRetweet: true } : fail("You may not see another user's email settings.", 'FORBIDDEN'),
    },
  },
};

const schemaFolder = new URL('../../../schema/', import.meta.url);
const schemas = new Map();
for (const name of Object.keys(resolvers)) {
  const typeDefs = parse(readFileSync(new URL(`${name}.graphql`, schemaFolder), 'utf8'));
  schemas.set(name, buildSubgraphSchema([{ typeDefs, resolvers: resolvers[name] }]));
}

let down = new Set();
serveSubgraphs({
  schemas,
  port: args.port,
  before: async (req, res, name) => {
    if (req.method === 'POST' && req.url === '/control') {
      down = new Set(JSON.parse(await readBody(req)).down ?? []);
      res.writeHead(204).end();
      return true;
    }
    if (down.has(name)) {
      req.socket.destroy();
      return true;
    }
    return false;
  },
});
exitWhenStdinCloses();
