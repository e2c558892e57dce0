/**
 * Two connected in-memory stream ends that behave like the two ends of a TCP connection: destroying
 * one closes the other, and an end answered by an end (allowHalfOpen off). Node 20's duplexPair
 * alone does neither, so a target dropping the connection would go unnoticed by the test initiator.
 */
import { duplexPair, type Duplex } from 'node:stream';

export function connectedPair(): [Duplex, Duplex] {
  const [a, b] = duplexPair();
  const link = (self: Duplex, other: Duplex): void => {
    self.once('close', () => other.destroy());
    self.once('end', () => self.end());
  };
  link(a, b);
  link(b, a);
  return [a, b];
}
