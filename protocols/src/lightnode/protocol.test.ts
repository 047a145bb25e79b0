import test from 'ava';
import fc from 'fast-check';
import {
  LightNodeError,
  decodeBatchWire,
  decodeCanonical,
  decodeSample,
  encodeBatchWire,
  encodeCanonical,
  encodeSample,
  isLightNodeError,
  leafHash,
  makeSample,
  merkleLevels,
  merkleProof,
  merkleRoot,
  sampleFromJson,
  sampleProof,
  sampleToJson,
  sealBatch,
  toHex,
  toHighS,
  verifyBatch,
  verifyDocument,
  verifyMerkleProof,
  verifySampleProof,
  signSetpoint,
  privateKeySigner,
  QUANTITIES,
  encodeCanonicalReference,
  keccak256,
  keccak256Js,
  keccakBackend,
  useWasmKeccak,
  sampleToCanonical,
  type CanonicalValue,
  type QuantityName,
  type Sample,
} from '../index.js';
import { TEST_OPERATOR_KEY, testDomain, testSamples, testSigner } from '../testing/index.js';

const dom = testDomain();
const signer = testSigner();
const names = Object.keys(QUANTITIES) as QuantityName[];

const arbSample: fc.Arbitrary<Sample> = fc
  .record({
    seq: fc.integer({ min: 0, max: 2 ** 40 }),
    tsMs: fc.integer({ min: 0, max: 2 ** 42 }),
    source: fc.constantFrom('chain2', 'modbus-rtu', 'modbus-tcp', 'ess', 'sim' as const),
    values: fc.dictionary(
      fc.constantFrom(...names),
      fc.record({
        value: fc.integer({ min: -(2 ** 45), max: 2 ** 45 }),
        quality: fc.constantFrom('good', 'stale', 'invalid' as const),
      }),
      { maxKeys: 12 },
    ),
    raw: fc.option(
      fc.array(
        fc.record({
          quantity: fc.constantFrom(...names),
          fc: fc.constantFrom(3, 4),
          address: fc.integer({ min: 0, max: 65535 }),
          words: fc.array(fc.integer({ min: 0, max: 65535 }), { minLength: 1, maxLength: 4 }),
          type: fc.constantFrom('float32', 's32', 'u16'),
          scale: fc.integer({ min: -3, max: 3 }),
        }),
        { minLength: 1, maxLength: 3 },
      ),
      { nil: undefined },
    ),
  })
  .map((r) =>
    makeSample({
      deviceId: signer.address,
      podId: 'IT002E61899978',
      seq: r.seq,
      tsMs: r.tsMs,
      source: r.source,
      values: r.values,
      ...(r.raw ? { raw: r.raw } : {}),
    }),
  );

test('canonical CBOR and JSON round-trip every sample exactly (property)', (t) => {
  fc.assert(
    fc.property(arbSample, (s) => {
      const bytes = encodeSample(s);
      const back = decodeSample(bytes);
      t.deepEqual(encodeSample(back), bytes);
      t.deepEqual(encodeSample(sampleFromJson(sampleToJson(s))), bytes);
    }),
    { numRuns: 300 },
  );
});

test('canonical CBOR sorts map keys by encoded bytes and uses shortest integers', (t) => {
  // {"b": 1, "a": 24, "aa": -1} → keys by encoded bytes: "a" (0x61 0x61), "b" (0x61 0x62), "aa" (0x62 0x61 0x61)
  const bytes = encodeCanonical({ b: 1, a: 24, aa: -1 });
  t.is(toHex(bytes), '0xa3' + '6161' + '1818' + '6162' + '01' + '626161' + '20');
  t.throws(() => encodeCanonical({ x: 1.5 }), { message: /\$\.x: expected a safe integer/ });
  // a non-canonical encoding of 1 (0x18 0x01) is refused
  t.throws(() => decodeCanonical(new Uint8Array([0xa1, 0x61, 0x61, 0x18, 0x01])), {
    message: /more bytes than necessary/,
  });
  // unsorted keys ({"b":1,"a":2}) are well-formed but not canonical
  t.throws(() => decodeCanonical(new Uint8Array([0xa2, 0x61, 0x62, 0x01, 0x61, 0x61, 0x02])), {
    message: /not in canonical/,
  });
  // a float anywhere is refused
  t.throws(() => decodeCanonical(new Uint8Array([0xa1, 0x61, 0x61, 0xf9, 0x3c, 0x00])), { instanceOf: LightNodeError });
});

test('bad input names the field: malformed JSON, wrong types, missing fields, unknown version', (t) => {
  const good = JSON.parse(sampleToJson(testSamples(1)[0]!)) as Record<string, unknown>;
  t.throws(() => sampleFromJson('{"v":1,'), { message: /DECODE_ERROR: sample: malformed JSON/ });
  t.throws(() => sampleFromJson(JSON.stringify({ ...good, seq: '5' })), {
    message: /sample\.seq: expected an integer/,
  });
  t.throws(() => sampleFromJson(JSON.stringify({ ...good, podId: undefined })), {
    message: /sample\.podId: expected a PoD id/,
  });
  t.throws(() => sampleFromJson(JSON.stringify({ ...good, v: 2 })), {
    message: /VERSION_UNSUPPORTED: sample\.v: protocol version 2/,
  });
  t.throws(() => sampleFromJson(JSON.stringify({ ...good, quantities: { powerW: 1 } })), {
    message: /sample\.quantities\.powerW/,
  });
  t.throws(() => sampleFromJson(JSON.stringify({ ...good, quality: 'stale' })), {
    message: /sample\.quality: expected the worst quantity quality \(good\)/,
  });
  t.throws(() => decodeSample(new Uint8Array([0xff, 0x00])), { message: /DECODE_ERROR/ });
  t.throws(() => decodeBatchWire(new Uint8Array([0x02, 1, 2, 3])), {
    message: /DECODE_ERROR: batch wire: deflate stream is corrupt/,
  });
  t.throws(() => decodeBatchWire(new Uint8Array([0x07, 1])), { message: /unknown format byte 0x07/ });
});

test('Merkle trees of 1…2000 leaves: every leaf proof verifies, and odd nodes are promoted, not duplicated', (t) => {
  for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 33, 100, 255, 1000, 2000]) {
    const leaves = Array.from({ length: n }, (_, i) => leafHash(new Uint8Array([i & 255, i >> 8])));
    const levels = merkleLevels(leaves);
    const root = levels.at(-1)![0]!;
    t.deepEqual(root, merkleRoot(leaves));
    for (let i = 0; i < n; i++)
      if (!verifyMerkleProof(leaves[i]!, i, n, merkleProof(levels, i), root)) t.fail(`leaf ${i}/${n}`);
  }
  const [a, b, c] = [1, 2, 3].map((x) => leafHash(new Uint8Array([x])));
  // 3 leaves: root = H(1 ‖ H(1‖a‖b) ‖ c)  (c promoted)
  const ab = merkleLevels([a!, b!])[1]![0]!;
  t.deepEqual(merkleRoot([a!, b!, c!]), merkleLevels([ab, c!])[1]![0]!);
  t.is(merkleProof([a!, b!, c!], 2).length, 1);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2000 }), fc.nat(), (n, k) => {
      const leaves = Array.from({ length: n }, (_, i) => leafHash(new Uint8Array([i & 255, (i >> 8) & 255, 7])));
      const i = k % n;
      return verifyMerkleProof(leaves[i]!, i, n, merkleProof(leaves, i), merkleRoot(leaves));
    }),
    { numRuns: 60 },
  );
});

test('a sealed batch verifies, survives the wire form bit for bit, and every sample proves alone', (t) => {
  const samples = testSamples(120, { firstSeq: 5000 });
  const b = sealBatch(
    {
      deviceId: signer.address,
      podId: 'IT002E61899978',
      samples,
      windowStartMs: samples[0]!.tsMs,
      windowEndMs: samples[0]!.tsMs + 120_000,
    },
    signer,
    dom,
  );
  t.is(verifyBatch(b, dom).signer, signer.address);
  for (const deflate of [true, false]) {
    const back = decodeBatchWire(encodeBatchWire(b, { deflate }));
    t.deepEqual(back.samples.map(encodeSample), samples.map(encodeSample));
    t.is(verifyBatch(back, dom).signer, signer.address);
  }
  for (const i of [0, 1, 59, 119]) t.is(verifySampleProof(sampleProof(b, i), dom).signer, signer.address);
});

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

test('any single-bit change to a sample, a header field, a proof step or the signature is rejected (property)', (t) => {
  const samples = testSamples(9, { firstSeq: 77 });
  const b = sealBatch(
    {
      deviceId: signer.address,
      podId: 'IT002E61899978',
      samples,
      windowStartMs: samples[0]!.tsMs,
      windowEndMs: samples[0]!.tsMs + 60_000,
    },
    signer,
    dom,
  );
  const rejects = (f: () => unknown): boolean => {
    try {
      f();
      return false;
    } catch (e) {
      return isLightNodeError(e);
    }
  };
  fc.assert(
    fc.property(fc.nat(8), fc.nat(), (i, bit) => {
      // a sample changed at the canonical-byte level (a flip that still decodes must change the root)
      const bytes = encodeSample(samples[i]!);
      const flipped = flipBit(bytes, bit % (bytes.length * 8));
      let changed: Sample;
      try {
        changed = decodeSample(flipped);
      } catch {
        return true; // not even a valid sample any more: rejected at decode
      }
      const tampered = { ...b, samples: b.samples.map((s, k) => (k === i ? changed : s)) };
      return rejects(() => verifyBatch(tampered, dom));
    }),
    { numRuns: 400 },
  );
  fc.assert(
    fc.property(fc.nat(64 * 8 + 7), (bit) =>
      t.true(rejects(() => verifyBatch({ ...b, signature: flipBit(b.signature, bit) }, dom))),
    ),
    { numRuns: 300 },
  );
  const fields = ['firstSeq', 'lastSeq', 'count', 'windowStartMs', 'windowEndMs', 'version'] as const;
  fc.assert(
    fc.property(fc.constantFrom(...fields), fc.nat(40), (f, bit) => {
      const h = { ...b.header, [f]: b.header[f] ^ (2 ** (bit % 31)) };
      return rejects(() => verifyBatch({ ...b, header: h }, dom));
    }),
  );
  fc.assert(
    fc.property(fc.nat(255), (bit) => {
      const root = toHex(flipBit(Buffer.from(b.header.root.slice(2), 'hex'), bit));
      const dev = toHex(flipBit(Buffer.from(b.header.deviceId.slice(2), 'hex'), bit % 160));
      return (
        rejects(() => verifyBatch({ ...b, header: { ...b.header, root } }, dom)) &&
        rejects(() => verifyBatch({ ...b, header: { ...b.header, deviceId: dev } }, dom))
      );
    }),
  );
  const proof = sampleProof(b, 4);
  fc.assert(
    fc.property(fc.nat(proof.path.length - 1), fc.nat(255), (step, bit) => {
      const path = proof.path.map((p, k) => (k === step ? toHex(flipBit(Buffer.from(p.slice(2), 'hex'), bit)) : p));
      return rejects(() => verifySampleProof({ ...proof, path }, dom));
    }),
  );
});

test('high-s twins, wrong signers and foreign domains are refused with the reason', (t) => {
  const samples = testSamples(3);
  const b = sealBatch(
    {
      deviceId: signer.address,
      podId: 'IT002E61899978',
      samples,
      windowStartMs: samples[0]!.tsMs,
      windowEndMs: samples[0]!.tsMs + 60_000,
    },
    signer,
    dom,
  );
  t.throws(() => verifyBatch({ ...b, signature: toHighS(b.signature) }, dom), { message: /SIGNATURE_HIGH_S/ });
  t.throws(() => verifyBatch(b, dom, { expectedSigner: '0x' + '00'.repeat(20) }), { message: /SIGNER_MISMATCH/ });
  t.throws(() => verifyBatch(b, { ...dom, chainId: 1 }), { message: /SIGNER_MISMATCH/ });
  const op = privateKeySigner(TEST_OPERATOR_KEY);
  const sp = signSetpoint(
    {
      version: 1,
      id: '0x' + '11'.repeat(32),
      issuer: op.address,
      podId: 'IT002E61899978',
      marketSession: 'MS-2021-06-23',
      slotIndex: 50,
      playerServiceId: 'ACEAE',
      activePowerW: -150_000,
      baselineW: 20_000,
      validFromMs: 1624444200000,
      validUntilMs: 1624445100000,
      nonce: 1,
    },
    op,
    dom,
  );
  t.is(verifyDocument(sp).signer, op.address);
  t.throws(() => verifyDocument({ ...sp, message: { ...sp.message, activePowerW: -150_001 } }), {
    message: /SIGNER_MISMATCH/,
  });
  t.throws(() => verifyDocument({ ...sp, message: { ...sp.message, version: 2 } }), { message: /VERSION_UNSUPPORTED/ });
  t.throws(() => verifyDocument({ ...sp, message: { ...sp.message, baselineW: 0 } }), { message: /SIGNER_MISMATCH/ });
  const inverted = { ...sp, message: { ...sp.message, validUntilMs: sp.message.validFromMs } };
  const e = t.throws(() => verifyDocument(inverted), { message: /validUntilMs/ }) as { code?: string } | undefined;
  t.is(e?.code, 'SETPOINT_INVALID');
});

test('the wire form rebuilds every leaf bit for bit for arbitrary batches (property)', (t) => {
  fc.assert(
    fc.property(fc.array(arbSample, { minLength: 1, maxLength: 40 }), fc.boolean(), (raw, deflate) => {
      // make them one device's consecutive samples in one window
      const samples = raw.map((s, i) => ({ ...s, seq: 1000 + i, tsMs: 1_600_000_000_000 + (s.tsMs % 3_600_000) }));
      const b = sealBatch(
        {
          deviceId: signer.address,
          podId: 'IT002E61899978',
          samples,
          windowStartMs: 1_600_000_000_000,
          windowEndMs: 1_600_003_600_000,
        },
        signer,
        dom,
      );
      const back = decodeBatchWire(encodeBatchWire(b, { deflate }));
      t.deepEqual(back.samples.map(encodeSample), samples.map(encodeSample));
      t.deepEqual(back.header, b.header);
      t.deepEqual(back.signature, b.signature);
    }),
    { numRuns: 150 },
  );
});

test('garbage and truncated wire bytes never crash: a DECODE/SCHEMA error or a batch that fails verification', (t) => {
  const samples = testSamples(30);
  const b = sealBatch(
    {
      deviceId: signer.address,
      podId: 'IT002E61899978',
      samples,
      windowStartMs: samples[0]!.tsMs,
      windowEndMs: samples[0]!.tsMs + 60_000,
    },
    signer,
    dom,
  );
  const wire = encodeBatchWire(b, { deflate: false });
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.nat(wire.length - 1).map((k) => wire.slice(0, k)),
        fc.tuple(fc.nat(wire.length - 1), fc.nat(255)).map(([i, v]) => {
          const x = wire.slice();
          x[i] = v;
          return x;
        }),
      ),
      (bytes) => {
        try {
          verifyBatch(decodeBatchWire(bytes), dom);
          return bytes.length === wire.length && Buffer.compare(Buffer.from(bytes), Buffer.from(wire)) === 0;
        } catch (e) {
          return isLightNodeError(e);
        }
      },
    ),
    { numRuns: 500 },
  );
  t.pass();
});

// ---- the fast paths of a verifier: identical bytes and hashes to the reference implementations ----
const arbCanonical: fc.Arbitrary<CanonicalValue> = fc.letrec<{ v: CanonicalValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
    fc.integer({ min: -70_000, max: 70_000 }),
    fc.constantFrom(
      23,
      24,
      255,
      256,
      65535,
      65536,
      2 ** 32 - 1,
      2 ** 32,
      -24,
      -25,
      -256,
      -257,
      -(2 ** 32),
      -(2 ** 32) - 1,
    ),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ maxLength: 300 }),
    fc.boolean(),
    fc.uint8Array({ maxLength: 300 }),
    fc.array(tie('v'), { maxLength: 30 }),
    fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 30 }), tie('v'), { maxKeys: 30 }),
  ),
})).v;

test('canonical CBOR: the fast writer produces exactly cborg RFC 8949 bytes (property)', (t) => {
  fc.assert(
    fc.property(arbCanonical, (v) => {
      const outcome = (f: (x: CanonicalValue) => Uint8Array): string => {
        try {
          return Buffer.from(f(v)).toString('hex');
        } catch (e) {
          return `error ${(e as Error).message}`;
        }
      };
      return outcome(encodeCanonical) === outcome(encodeCanonicalReference);
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(arbSample, (s) => Buffer.from(encodeSample(s)).equals(encodeCanonicalReference(sampleToCanonical(s)))),
  );
  t.throws(() => encodeCanonical({ a: 1.5 }), { message: /\$\.a: expected a safe integer/ });
  t.throws(() => encodeCanonical({ a: [null as unknown as number] }), { message: /\$\.a\[0\]: a null/ });
  t.is(Buffer.from(encodeCanonical(-0)).toString('hex'), Buffer.from(encodeCanonicalReference(-0)).toString('hex'));
});

test('keccak256: the WebAssembly backend equals @noble/hashes (property)', async (t) => {
  t.is(await useWasmKeccak(), 'wasm');
  t.is(keccakBackend(), 'wasm');
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 400 }), { maxLength: 4 }), (parts) =>
      Buffer.from(keccak256(...parts)).equals(keccak256Js(...parts)),
    ),
    { numRuns: 2000 },
  );
});

test('verifyBatch validates decoded samples once, and still refuses one changed in place after decoding', (t) => {
  const b = sealBatch(
    {
      deviceId: signer.address,
      podId: 'IT002E61899978',
      samples: testSamples(5),
      windowStartMs: Date.UTC(2021, 5, 23, 10, 30),
      windowEndMs: Date.UTC(2021, 5, 23, 10, 31),
    },
    signer,
    dom,
  );
  const back = decodeBatchWire(encodeBatchWire(b));
  t.notThrows(() => verifyBatch(back, dom));
  back.samples[2]!.quantities.activePowerW! += 1;
  t.throws(() => verifyBatch(back, dom), { message: /MERKLE_ROOT_MISMATCH/ });
  (back.samples[3]!.quantities as Record<string, unknown>).bogusW = 1;
  t.throws(() => verifyBatch(back, dom), { message: /MERKLE_ROOT_MISMATCH|SCHEMA_INVALID/ });
  back.samples[2]!.quantities.activePowerW = 1.5;
  t.throws(() => verifyBatch(back, dom), { instanceOf: LightNodeError });
});
