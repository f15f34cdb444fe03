import { parseScramVerifier, ScramClient, ScramError, ScramServer, scramVerifier } from './scram-sha-256';
import { createHash } from 'node:crypto';
import { md5Matches, md5Response } from './md5';

describe('SCRAM-SHA-256', () => {
  it('accepts the right password and proves the server to the client', () => {
    const server = new ScramServer(scramVerifier('correct horse'));
    const client = new ScramClient('correct horse');
    const serverFirst = server.first(client.first());
    const serverFinal = server.final(client.final(serverFirst));
    expect(() => client.verify(serverFinal)).not.toThrow();
  });

  it('refuses a wrong password', () => {
    const server = new ScramServer(scramVerifier('correct horse'));
    const client = new ScramClient('battery staple');
    expect(() => server.final(client.final(server.first(client.first())))).toThrow(ScramError);
  });

  it('refuses a client-final-message with another nonce', () => {
    const server = new ScramServer(scramVerifier('pw'));
    const client = new ScramClient('pw');
    const final = client.final(server.first(client.first())).replace(/r=[^,]+/, 'r=forged');
    expect(() => server.final(final)).toThrow(/nonce/);
  });

  it("reads PostgreSQL's stored verifier format", () => {
    const v = scramVerifier('pw', Buffer.from('0123456789abcdef'), 4096);
    const text = `SCRAM-SHA-256$4096:${v.salt.toString('base64')}$${v.storedKey.toString('base64')}:${v.serverKey.toString('base64')}`;
    const parsed = parseScramVerifier(text)!;
    const server = new ScramServer(parsed);
    const client = new ScramClient('pw');
    expect(() => client.verify(server.final(client.final(server.first(client.first()))))).not.toThrow();
  });
});

describe('md5', () => {
  it('matches what libpq sends, from a password or a stored md5 hash', () => {
    const salt = Buffer.from([1, 2, 3, 4]);
    const response = md5Response('alice', 'secret', salt);
    expect(md5Matches('alice', 'secret', salt, response)).toBe(true);
    expect(md5Matches('alice', 'md5' + createHash('md5').update('secretalice').digest('hex'), salt, response)).toBe(true);
    expect(md5Matches('alice', 'other', salt, response)).toBe(false);
  });
});
