// The counting proxy against a loopback peer: both directions, per connection, and the fence `until`.
import test from 'ava';
import { createConnection, createServer, type Socket } from 'node:net';
import { startLinkProxy } from './link-proxy.js';

test('counts bytes, chunks and segments both ways, per connection, and fences on what the client wrote', async (t) => {
  // the peer answers every chunk with its length as 4 bytes
  const peers = new Set<Socket>();
  const server = createServer((s) => {
    peers.add(s);
    s.on('data', (d: Buffer) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(d.length);
      s.write(b);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const proxy = await startLinkProxy({ port: (server.address() as { port: number }).port });
  t.teardown(async () => {
    await proxy.close();
    for (const s of peers) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  const roundTrip = async (c: Socket, bytes: number): Promise<void> => {
    const answered = new Promise<void>((r) => c.once('data', () => r()));
    c.write(Buffer.alloc(bytes, 0x61));
    await answered;
  };
  const c1 = createConnection({ host: '127.0.0.1', port: proxy.port });
  await new Promise<void>((r) => c1.once('connect', () => r()));
  await roundTrip(c1, 100);
  await roundTrip(c1, 3000);
  await proxy.until(() => proxy.connections()[0]?.up.bytes === c1.bytesWritten);
  const one = proxy.connections()[0]!;
  t.is(one.up.bytes, 3100);
  // the peer's replies (4 B per chunk it read) came back through the proxy's other direction
  t.true(one.down.bytes >= 8 && one.down.bytes % 4 === 0, `${one.down.bytes} B down`);
  t.true(one.up.segments >= 4, `${one.up.segments} segments for 100 B + 3000 B`);
  t.is(one.down.segments, one.down.chunks);
  c1.destroy();
  const c2 = createConnection({ host: '127.0.0.1', port: proxy.port });
  await new Promise<void>((r) => c2.once('connect', () => r()));
  await roundTrip(c2, 10);
  await proxy.until(() => proxy.connections().length === 2);
  t.deepEqual(proxy.connections()[1]!.up, { bytes: 10, chunks: 1, segments: 1 });
  t.is(proxy.total().up.bytes, 3110);
  c2.destroy();
  await t.throwsAsync(
    proxy.until(() => false, 20),
    { message: /not met within 20 ms/ },
  );
});
