/**
 * What a link proxy counts, per direction — payload bytes, chunks (`data` events: one read of the kernel's receive
 * buffer, the closest a user-space proxy gets to a write burst) and the segments those chunks need at the model's MSS
 * — and the IP/TCP header model that turns it into the bytes a cellular operator bills (IP packets, both directions).
 *
 * Header model (`ipBytes`), stated once:
 * - every data segment carries 52 B of headers: IPv4 20 B (RFC 791, no options) + TCP 20 B (RFC 9293) + 12 B of
 *   timestamp option (RFC 7323 §3: 10 B TSopt + 2 B NOP padding), which Linux sends on every segment;
 * - MSS 1448 B = a 1500-B MTU − 52 B; a chunk of n bytes is ceil(n / 1448) segments;
 * - pure ACKs (52 B each): the receiver acknowledges every second segment (delayed ACK, RFC 1122 §4.2.3.2 / RFC 5681
 *   §4.2), so ceil(segments / 2) per direction per measured exchange, in the opposite direction, and none are assumed
 *   to piggyback on a reply: an upper estimate;
 * - opening a connection: SYN and SYN-ACK of 60 B each (IPv4 20 + TCP 20 + 20 B of options: MSS 4, SACK-permitted
 *   2, timestamps 10, NOP 1, window scale 3) and the final ACK of 52 B = 172 B; closing: FIN and ACK each way,
 *   4 × 52 B = 208 B.
 * Not counted: link-layer and GTP/radio overhead (not billed), retransmissions, IPv6 (+20 B per packet).
 */

/** Headers of one data segment or pure ACK, B: IPv4 20 + TCP 20 + timestamps 12. */
export const SEGMENT_HEADER_B = 52;
/** Maximum segment size of the model, B (1500-B MTU − 52 B of headers). */
export const MSS_B = 1448;
/** SYN (60) + SYN-ACK (60) + ACK (52), B. */
export const TCP_OPEN_B = 172;
/** FIN + ACK in each direction, 4 × 52 B. */
export const TCP_CLOSE_B = 208;

/** What passed in one direction: payload bytes, `data` chunks, segments at `MSS_B`. */
export interface DirectionCount {
  bytes: number;
  chunks: number;
  segments: number;
}
/** Both directions: `up` = client → target (the device's uplink), `down` = target → client. */
export interface LinkCount {
  up: DirectionCount;
  down: DirectionCount;
}

export const zeroCount = (): LinkCount => ({
  up: { bytes: 0, chunks: 0, segments: 0 },
  down: { bytes: 0, chunks: 0, segments: 0 },
});

/** Segments a chunk of `bytes` needs at `mss` (a zero-length chunk needs none). */
export function segmentsOf(bytes: number, mss = MSS_B): number {
  return Math.ceil(bytes / mss);
}

/** Adds one chunk to a direction's count. */
export function addChunk(d: DirectionCount, bytes: number, mss = MSS_B): void {
  d.bytes += bytes;
  d.chunks++;
  d.segments += segmentsOf(bytes, mss);
}

/** `b − a`, direction by direction. */
export function diffCount(a: LinkCount, b: LinkCount): LinkCount {
  const d = (x: DirectionCount, y: DirectionCount): DirectionCount => ({
    bytes: y.bytes - x.bytes,
    chunks: y.chunks - x.chunks,
    segments: y.segments - x.segments,
  });
  return { up: d(a.up, b.up), down: d(a.down, b.down) };
}

/** IP bytes of an exchange under the header model above: payload + 52 B per data segment + 52 B per pure ACK. */
export function ipBytes(c: LinkCount): { up: number; down: number; total: number; acksUp: number; acksDown: number } {
  const acksUp = Math.ceil(c.down.segments / 2); // the client acknowledging what came down
  const acksDown = Math.ceil(c.up.segments / 2);
  const up = c.up.bytes + SEGMENT_HEADER_B * (c.up.segments + acksUp);
  const down = c.down.bytes + SEGMENT_HEADER_B * (c.down.segments + acksDown);
  return { up, down, total: up + down, acksUp, acksDown };
}
