// Two subgraphs whose graph has what Chirp's and the benchmark's lack: an interface (with entity and non-entity
// implementations), a union, an enum, list and Float arguments, nested input objects. Served by @apollo/subgraph at
// POST /graphql/<name>; the supergraph is composed here with @apollo/composition and written to --supergraph-out.
// The packages come from bench/federation (npm ci there; scripts/test does). It stops when its stdin closes.
//
// node abstract-subgraphs.mjs --port N --supergraph-out FILE
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { exitWhenStdinCloses, serveSubgraphs } from '../../../bench/federation/lib/fixture-server.mjs';

const require = createRequire(new URL('../../../bench/federation/package.json', import.meta.url));
const { parse, GraphQLError } = require('graphql');
const { buildSubgraphSchema } = require('@apollo/subgraph');
const { composeServices } = require('@apollo/composition');

const { values: args } = parseArgs({ options: { port: { type: 'string' }, 'supergraph-out': { type: 'string' } } });

const link = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])';
const sdl = {
  catalog: `${link}
    enum Kind { BOOK FILM SONG }
    input MediaFilter { kinds: [Kind!] titleContains: String minYear: Float range: YearRange }
    input YearRange { from: Int! to: Int = 3000 }
    interface Media { id: ID! title: String! year: Int kind: Kind! }
    type Book implements Media @key(fields: "id") { id: ID! title: String! year: Int kind: Kind! pages: Int author: Person }
    type Film implements Media @key(fields: "id") { id: ID! title: String! year: Int kind: Kind! minutes: Int }
    type Song implements Media { id: ID! title: String! year: Int kind: Kind! artist: String }
    type Person @key(fields: "id") { id: ID! name: String! }
    union SearchResult = Book | Film | Person
    type Query {
      media(filter: MediaFilter): [Media!]!
      search(term: String!, limit: Int = 10): [SearchResult!]!
      mediaByIds(ids: [ID!]!): [Media]!
      broken: Media
    }`,
  reviews: `${link}
    type Book @key(fields: "id") { id: ID! rating: Float reviewers: [Person!]! }
    type Film @key(fields: "id") { id: ID! rating: Float }
    type Person @key(fields: "id") { id: ID! reviewCount: Int! }`,
};

const people = new Map([
  ['p1', { id: 'p1', name: 'Ursula' }],
  ['p2', { id: 'p2', name: 'Frank' }],
]);
const media = [
  { id: 'b1', kind: 'BOOK', title: 'The Dispossessed', year: 1974, pages: 387, author: 'p1' },
  { id: 'f1', kind: 'FILM', title: 'Stalker', year: 1979, minutes: 161 },
  { id: 's1', kind: 'SONG', title: 'Dune Song', year: 1984, artist: 'Toto' },
  { id: 'b2', kind: 'BOOK', title: 'Dune', year: 1965, pages: 412, author: 'p2' },
  { id: 'f2', kind: 'FILM', title: 'Dune', year: 2021, minutes: 155 },
];
const byId = new Map(media.map((m) => [m.id, m]));
const typeOf = (m) => ({ BOOK: 'Book', FILM: 'Film', SONG: 'Song' })[m.kind];
const ratings = { b1: 4.5, b2: 4.8, f1: 4.9, f2: null };
const reviewers = { b1: ['p2'], b2: ['p1', 'p2'] };

const resolvers = {
  catalog: {
    Media: { __resolveType: typeOf },
    SearchResult: { __resolveType: (x) => (x.kind ? typeOf(x) : 'Person') },
    Book: { __resolveReference: (ref) => byId.get(ref.id), author: (b) => people.get(b.author) },
    Film: { __resolveReference: (ref) => byId.get(ref.id) },
    Person: { __resolveReference: (ref) => people.get(ref.id) },
    Query: {
      media: (_, { filter }) =>
        media.filter(
          (m) =>
            (!filter?.kinds || filter.kinds.includes(m.kind)) &&
            (!filter?.titleContains || m.title.includes(filter.titleContains)) &&
            (filter?.minYear == null || m.year >= filter.minYear) &&
            (!filter?.range || (m.year >= filter.range.from && m.year <= filter.range.to)),
        ),
      search: (_, { term, limit }) =>
        [...media.filter((m) => m.title.includes(term) && m.kind !== 'SONG'), ...[...people.values()].filter((p) => p.name.includes(term))].slice(0, limit),
      mediaByIds: (_, { ids }) => ids.map((id) => byId.get(id) ?? null),
      broken: () => {
        throw new GraphQLError('catalog shard 3 is offline', { extensions: { code: 'INTERNAL' } });
      },
    },
  },
  reviews: {
    Book: {
      __resolveReference: (ref) => ({ id: ref.id }),
      rating: (b) => ratings[b.id] ?? null,
      reviewers: (b) => (reviewers[b.id] ?? []).map((id) => ({ id })),
    },
    Film: {
      __resolveReference: (ref) => (ref.id === 'f2' ? new GraphQLError('ratings for f2 are being recomputed', { extensions: { code: 'INTERNAL' } }) : { id: ref.id }),
      rating: (f) => ratings[f.id] ?? null,
    },
    Person: {
      __resolveReference: (ref) => ({ id: ref.id }),
      reviewCount: (p) => Object.values(reviewers).filter((r) => r.includes(p.id)).length,
    },
  },
};

const url = (name) => `http://127.0.0.1:${args.port}/graphql/${name}`;
const composed = composeServices(Object.entries(sdl).map(([name, text]) => ({ name, typeDefs: parse(text), url: url(name) })));
if (composed.errors) {
  console.error(composed.errors.map(String).join('\n'));
  process.exit(1);
}
writeFileSync(args['supergraph-out'], composed.supergraphSdl);

const schemas = new Map(Object.entries(sdl).map(([name, text]) => [name, buildSubgraphSchema([{ typeDefs: parse(text), resolvers: resolvers[name] }])]));
serveSubgraphs({ schemas, port: args.port });
exitWhenStdinCloses();
