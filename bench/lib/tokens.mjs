// Access tokens minted the way the gateway's TokenIssuer signs them: ES256 over the PEM key from the gateway's
// key folder, kid = the key's file name without ".pem", and the claims iss, aud, sub, exp, iat, nbf, jti, sid,
// scope and context = {userId, handle, displayName}.
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

/** A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then random bits; the form the services use for ids. */
export function uuidv7() {
  const bytes = randomBytes(16);
  let ms = BigInt(Date.now());
  for (let i = 5; i >= 0; i--) {
    bytes[i] = Number(ms & 0xffn);
    ms >>= 8n;
  }
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function base64url(value) {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/**
 * Signs access tokens with the key in `keyFile`.
 * issuer/audience: the gateway's Tokens:Issuer and Tokens:Audience; lifetimeSeconds: its AccessTokenLifetime.
 */
export class TokenMinter {
  constructor({ keyFile, issuer, audience, scope, lifetimeSeconds }) {
    this.key = createPrivateKey(readFileSync(keyFile, 'utf8'));
    if (this.key.asymmetricKeyType !== 'ec' || this.key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error(`${keyFile} is not an EC P-256 private key`);
    }
    this.kid = basename(keyFile).replace(/\.pem$/, '');
    this.issuer = issuer;
    this.audience = audience;
    this.scope = scope;
    this.lifetimeSeconds = lifetimeSeconds;
  }

  /** A signed token for {id, handle, displayName}; the session id is fresh, as after a log-in. */
  mint(user) {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'ES256', kid: this.kid, typ: 'JWT' };
    const claims = {
      iss: this.issuer,
      aud: this.audience,
      sub: user.id,
      iat: now,
      nbf: now,
      exp: now + this.lifetimeSeconds,
      jti: uuidv7(),
      sid: uuidv7(),
      scope: this.scope,
      context: { userId: user.id, handle: user.handle, displayName: user.displayName },
    };
    const signingInput = `${base64url(header)}.${base64url(claims)}`;
    // JWS (RFC 7518 section 3.4) wants the raw 64-byte r||s, not DER.
    const signature = sign('sha256', Buffer.from(signingInput), { key: this.key, dsaEncoding: 'ieee-p1363' });
    return `${signingInput}.${signature.toString('base64url')}`;
  }
}
