// Composes the subgraph SDLs in schema/ into schema/supergraph.graphql.
//   node compose.mjs          writes the file
//   node compose.mjs --check  exits 1 when the file differs from a fresh composition
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "graphql";
import { composeServices } from "@apollo/composition";

const schemaDir = join(dirname(fileURLToPath(import.meta.url)), "..");

// Default URLs only: the gateway takes the real ones from Subgraphs:<name>:Url.
const subgraphs = [
  { name: "users", url: "http://127.0.0.1:5001/graphql" },
  { name: "tweets", url: "http://127.0.0.1:5002/graphql" },
  { name: "notifications", url: "http://127.0.0.1:5003/graphql" },
];

const services = subgraphs.map(({ name, url }) => ({
  name,
  url,
  typeDefs: parse(readFileSync(join(schemaDir, `${name}.graphql`), "utf8")),
}));

const result = composeServices(services);
if (result.errors) {
  for (const error of result.errors) console.error(error.message);
  process.exit(1);
}

const supergraph = result.supergraphSdl.trimEnd() + "\n";
const target = join(schemaDir, "supergraph.graphql");
if (process.argv.includes("--check")) {
  const current = existsSync(target) ? readFileSync(target, "utf8") : "";
  if (current !== supergraph) {
    console.error("schema/supergraph.graphql is not the composition of the subgraph SDLs; run: node schema/compose/compose.mjs");
    process.exit(1);
  }
  console.log("supergraph is up to date");
} else {
  writeFileSync(target, supergraph);
  console.log(`wrote ${target}`);
}
