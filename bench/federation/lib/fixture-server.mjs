// Fixture subgraphs over HTTP, shared by the federation bench (subgraphs.mjs) and the differential tests' Node
// subgraphs (tests/Chirp.Federation.Tests/Differential): each graphql-js schema at POST /graphql/<name>. `graphql`
// resolves from bench/federation/node_modules, the same copy @apollo/subgraph uses, wherever the importing script is.
import { createServer } from 'node:http';
import { parse, execute } from 'graphql';

/** The request body as UTF-8 text. */
export const readBody = (req) =>
  new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

/**
 * Runs a GraphQL-over-HTTP request body ({query, variables, operationName}) against `schema`. A body that is not
 * such JSON, or a document that does not parse, gives `{errors: [{message}]}` instead of failing the server.
 */
export async function executeBody(schema, body) {
  try {
    const request = JSON.parse(body);
    return await execute({
      schema,
      document: parse(request.query),
      variableValues: request.variables,
      operationName: request.operationName,
    });
  } catch (e) {
    return { errors: [{ message: String(e.message ?? e) }] };
  }
}

/**
 * Serves `schemas` (a Map from subgraph name to schema) at POST /graphql/<name> on host:port, logs where, and
 * returns the server. `answer(name, body)` gives a response body (string or Buffer; default: the JSON of
 * executeBody); `before(req, res, name)` runs first and returns true when it has handled the request itself (extra
 * routes, a dropped connection). Anything else gets 404. Idle connections stay open 60 s, as gateways reuse them.
 */
export function serveSubgraphs({ schemas, port, host = '127.0.0.1', answer, before }) {
  const respond = answer ?? (async (name, body) => JSON.stringify(await executeBody(schemas.get(name), body)));
  const server = createServer(async (req, res) => {
    const name = req.url.startsWith('/graphql/') ? req.url.slice('/graphql/'.length) : '';
    if (before && (await before(req, res, name))) {
      return;
    }
    if (req.method !== 'POST' || !schemas.has(name)) {
      res.writeHead(404).end();
      return;
    }
    const body = await respond(name, await readBody(req));
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes.length }).end(bytes);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(Number(port), host, () => {
    console.log(`subgraphs listening on http://${host}:${server.address().port}/graphql/{${[...schemas.keys()].join(',')}}`);
  });
  return server;
}

/** Exits when standard input closes: the test that started this process ended, or died. */
export function exitWhenStdinCloses() {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
