/** SYNCHRONIZE CACHE(10/16) (fdatasync) and PRE-FETCH(10/16) — SBC-3 §5.18, §5.22-5.23. */
import { u16, u32, u64 } from '../cdb.ts';
import { defineOpcode, good, type OpcodeDescriptor } from '../opcode.ts';

function range(cdb: Buffer, sixteen: boolean): { lba: number; blocks: number } {
  return sixteen ? { lba: u64(cdb, 2), blocks: u32(cdb, 10) } : { lba: u32(cdb, 2), blocks: u16(cdb, 7) };
}

function synchronizeCache(opcode: number, sixteen: boolean, usageBits: number[]): OpcodeDescriptor {
  return defineOpcode({
    name: `SYNCHRONIZE CACHE(${sixteen ? 16 : 10})`, opcode, cdbLength: sixteen ? 16 : 10, usageBits,
    timeoutSeconds: 60,
    parse(cdb) {
      return {
        range: range(cdb, sixteen), // NUMBER OF BLOCKS 0 means "to the end": only the LBA is range-checked
        async run({ unit }) {
          // IMMED is honoured by simply completing after the flush: always correct, rarely slower.
          await unit.backstore.flush();
          return good();
        },
      };
    },
  });
}

function preFetch(opcode: number, sixteen: boolean, usageBits: number[]): OpcodeDescriptor {
  return defineOpcode({
    name: `PRE-FETCH(${sixteen ? 16 : 10})`, opcode, cdbLength: sixteen ? 16 : 10, usageBits, access: 'read',
    parse(cdb) {
      // The page cache does the prefetching; GOOD (not CONDITION MET) says nothing was promised.
      return { range: range(cdb, sixteen), run: () => good() };
    },
  });
}

export const cacheOpcodes: readonly OpcodeDescriptor[] = [
  synchronizeCache(0x35, false, [0x35, 0x02, 0xff, 0xff, 0xff, 0xff, 0x3f, 0xff, 0xff, 0x00]),
  synchronizeCache(0x91, true, [0x91, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, 0x00]),
  preFetch(0x34, false, [0x34, 0x02, 0xff, 0xff, 0xff, 0xff, 0x3f, 0xff, 0xff, 0x00]),
  preFetch(0x90, true, [0x90, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, 0x00]),
];
