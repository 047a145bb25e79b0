/** Size on the wire of an MQTT 3.1.1 PUBLISH: fixed header (1 B + remaining-length varint), topic (2 B length + bytes), packet id (QoS > 0), payload. */
export function mqttPublishBytes(topic: string, payloadBytes: number, qos: 0 | 1 | 2 = 1): number {
  const remaining = 2 + Buffer.byteLength(topic) + (qos > 0 ? 2 : 0) + payloadBytes;
  let lenBytes = 1;
  for (let r = remaining; r >= 128; r = Math.floor(r / 128)) lenBytes++;
  return 1 + lenBytes + remaining;
}
