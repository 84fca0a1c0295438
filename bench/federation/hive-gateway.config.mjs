// Hive Gateway 2.15.1 configuration for the benchmark: every subgraph fetch is sent (no in-flight
// de-duplication), no GraphiQL; the supergraph file and the port come from the command line.
export const gatewayConfig = {
  transportEntries: {
    '*.http': { options: { deduplicateInflightRequests: false } },
  },
  graphiql: false,
};
