import pino from 'pino';
import { md5Response } from '../../auth/md5';
import { ScramClient, scramVerifier } from '../../auth/scram-sha-256';
import * as wire from '../../wire';
import { loginMethodFor, type LoginMethod, type LoginStep } from './login-method';
import type { VerifierSource } from './postgres-verifiers';
import { UserStore } from './user-store';

const log = pino({ level: 'silent' });
const users = new UserStore(new Map([['alice', 'secret']]));

/** Runs a whole SCRAM exchange as a client with `password` would. */
async function scramLogin(login: LoginMethod, password: string): Promise<LoginStep> {
  expect(wire.decodeAuthentication(login.request)).toMatchObject({ code: wire.AuthCode.sasl });
  const client = new ScramClient(password);
  const first = await login.step(wire.encodeSaslInitialResponse({ mechanism: 'SCRAM-SHA-256', data: Buffer.from(client.first()) }));
  if (first.next !== 'continue') return first;
  const serverFirst = wire.decodeAuthentication(first.reply) as { data: Buffer };
  const final = await login.step(wire.encodeSaslResponse(Buffer.from(client.final(serverFirst.data.toString()))));
  if (final.next === 'accepted' && final.reply) client.verify((wire.decodeAuthentication(final.reply) as { data: Buffer }).data.toString());
  return final;
}

describe('login methods', () => {
  it('SCRAM: a configured user with the right password logs in as itself, not as a delegated role', async () => {
    expect(await scramLogin(loginMethodFor('alice', { method: 'scram-sha-256', users, log }), 'secret')).toMatchObject({ next: 'accepted', delegated: null });
  });

  it.each([
    ['a wrong password', 'alice', 'wrong', 'SCRAM proof does not match'],
    ['an unknown user (the exchange runs to the end first)', 'mallory', 'secret', 'unknown user'],
  ])('SCRAM: %s is refused', async (_what, user, password, reason) => {
    expect(await scramLogin(loginMethodFor(user, { method: 'scram-sha-256', users, log }), password)).toEqual({ next: 'refused', reason });
  });

  it("SCRAM, delegated: PostgreSQL's verifier decides, and the proof's keys are kept for the role's servers", async () => {
    const verifiers: VerifierSource = { lookup: async (user) => (user === 'bob' ? { verifier: scramVerifier('hunter2') } : { refused: 'no SCRAM verifier' }) };
    const accepted = await scramLogin(loginMethodFor('bob', { method: 'scram-sha-256', users, verifiers, log }), 'hunter2');
    expect(accepted).toMatchObject({ next: 'accepted' });
    expect(accepted.next === 'accepted' && accepted.delegated?.clientKey.length).toBe(32);
    expect(await scramLogin(loginMethodFor('carol', { method: 'scram-sha-256', users, verifiers, log }), 'x')).toEqual({ next: 'refused', reason: 'no SCRAM verifier' });
  });

  it('SCRAM, delegated: an auth query that fails is 08006, not a wrong password', async () => {
    const verifiers: VerifierSource = { lookup: () => Promise.reject(new Error('connection refused')) };
    const step = await scramLogin(loginMethodFor('bob', { method: 'scram-sha-256', users, verifiers, log }), 'x');
    expect(step).toMatchObject({ next: 'fatal', fields: { severity: 'FATAL', code: '08006' } });
  });

  it('md5: the salted answer for the right password is accepted, any other refused', () => {
    const answer = (login: LoginMethod, password: string) => {
      const request = wire.decodeAuthentication(login.request) as { salt: Buffer };
      return login.step(wire.encodePasswordMessage(md5Response('alice', password, request.salt)));
    };
    expect(answer(loginMethodFor('alice', { method: 'md5', users, log }), 'secret')).toEqual({ next: 'accepted', reply: null, delegated: null });
    expect(answer(loginMethodFor('alice', { method: 'md5', users, log }), 'wrong')).toEqual({ next: 'refused', reason: 'wrong password' });
  });
});
