// Prints N access tokens, one a line, for users that exist only in the tokens (new UUIDv7 ids, handles
// load_1 ... load_N), signed like the gateway's own with its dev key (../lib/tokens.mjs).
// Usage: node tokens.mjs KEY_FILE N
import { TokenMinter, uuidv7 } from '../lib/tokens.mjs';

const [keyFile, count] = process.argv.slice(2);
if (!keyFile || !(Number(count) > 0)) {
  console.error('usage: node tokens.mjs KEY_FILE N');
  process.exit(2);
}

const minter = new TokenMinter({
  keyFile,
  issuer: 'https://chirp.local',
  audience: 'chirp-api',
  scope: 'tweets:write email:manage',
  lifetimeSeconds: 3600,
});
const lines = [];
for (let i = 1; i <= Number(count); i++) {
  lines.push(minter.mint({ id: uuidv7(), handle: `load_${i}`, displayName: `Load ${i}` }));
}
process.stdout.write(lines.join('\n') + '\n');
