/** An operator action the engine refuses: bad input, a LUN already mirrored, or the pair's state. */
export class EngineError extends Error {
  constructor(readonly kind: 'invalid' | 'in-use' | 'state', message: string) {
    super(message);
  }
}
