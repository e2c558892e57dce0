/**
 * The emulated link as a decorator around a pair's shipping path: epoch payloads, generation
 * announcements and recovery probes cross the LinkShaper; what the source does with a refusal is what
 * it does when Redis or the peer is unreachable (ahead, dirty map only, resync of the dirty grains
 * once a probe gets through). Acks and the pair registry are not shaped: the emulated link is the data
 * path only (as an SRDF/RDF link is, beside the management network).
 */
import type { EpochShipper } from '../pipeline/epoch-shipper.ts';
import type { LinkShaper } from './link-shaper.ts';

/** The part of the shipping path the source uses (EpochShipper's surface). */
export type ShippingPath = Pick<EpochShipper, 'ship' | 'announceGeneration' | 'previousGeneration' | 'linkUp' | 'discard' | 'close'>;

export function shapedShipper(inner: ShippingPath, link: LinkShaper): ShippingPath {
  return {
    ship: (generation, epoch, payload, resync) => link.transmit(payload.length, () => inner.ship(generation, epoch, payload, resync)),
    announceGeneration: (generation) => link.transmit(0, () => inner.announceGeneration(generation)),
    previousGeneration: () => link.transmit(0, () => inner.previousGeneration()),
    linkUp: () => link.probe(() => inner.linkUp()),
    // Best-effort cleanup of superseded payloads: not data, and harmless to do across a partition.
    discard: (generation, epochs) => inner.discard(generation, epochs),
    close: () => inner.close(),
  };
}
