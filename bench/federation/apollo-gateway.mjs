// Apollo Gateway 2.14.4 on Apollo Server 5 (standalone HTTP server, one process) over a static supergraph file.
// Apollo Gateway has no in-flight de-duplication of subgraph fetches to turn off; usage reporting needs an Apollo
// key, which the bench never sets.
//
// node apollo-gateway.mjs --supergraph FILE --port N [--host 127.0.0.1]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloGateway } from '@apollo/gateway';

const { values: args } = parseArgs({
  options: {
    supergraph: { type: 'string' },
    port: { type: 'string', default: '4000' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});
const gateway = new ApolloGateway({ supergraphSdl: readFileSync(args.supergraph, 'utf8') });
const server = new ApolloServer({ gateway, plugins: [ApolloServerPluginLandingPageDisabled()] });
const { url } = await startStandaloneServer(server, { listen: { host: args.host, port: Number(args.port) } });
console.log(`Apollo Gateway at ${url}`);
