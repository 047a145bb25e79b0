/**
 * `startCloud({runDsotp})`: the DSOTP runs on the stack's SCD, broker and chain domain with a key generated into the
 * stack's directory, and writes its PoD–PoM associations through the stack's SCD.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privateKeySigner, type Command, type CommandIo } from '@lightnode/protocols';
import group from '../cli/cloud.js';
import { readSigningKey } from '../cli/common.js';
import { startCloud, type CloudStack } from '../stack.js';
import { DSOTP_PODS, dsotpTestModel } from '../testing/dsotp-model.js';

let dir: string;
let cloud: CloudStack;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ln-dsotp-stack-'));
  cloud = await startCloud({ dir, runBal: false, runDsotp: { network: dsotpTestModel() } });
});
test.after.always(async () => {
  await cloud?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the stack runs the DSOTP with a generated key in its dir and the stack SCD', async (t) => {
  const dso = cloud.dsotp!;
  t.truthy(dso);
  t.is(privateKeySigner(readSigningKey(join(dir, 'dsotp.key'))).address, dso.address);
  const pod = DSOTP_PODS[0].pod;
  const r = await fetch(`${cloud.scdUrl}/pods`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${cloud.tokens.ACEAE}` },
    body: JSON.stringify({ podId: pod }),
  });
  t.is(r.status, 201);
  const a = await dso.associate();
  t.deepEqual(a.associated, [pod]);
  t.is(a.unregistered.length, DSOTP_PODS.length - 1);
  const pods = (await (
    await fetch(`${cloud.scdUrl}/pods`, { headers: { authorization: `Bearer ${cloud.tokens.dso}` } })
  ).json()) as { podId: string; pomId?: string }[];
  t.is(pods.find((p) => p.podId === pod)?.pomId, 'POM-TDV');
  t.like(dso.status(), { pom: 'POM-TDV', pods: DSOTP_PODS.length, requestsPosted: 0 });
});

test('cloud up: --dsotp-key-file without --network is a usage error', async (t) => {
  const io: CommandIo = {
    stdout: () => undefined,
    stderr: () => undefined,
    env: {},
    cwd: dir,
    signal: new AbortController().signal,
  };
  await t.throwsAsync((group.subcommands.up as Command).run(['--dsotp-key-file', 'k.key'], io), {
    message: /USAGE: --dsotp-key-file needs --network/,
  });
});
