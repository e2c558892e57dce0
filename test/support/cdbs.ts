/** READ(10) / WRITE(10) CDBs (SBC-4 §5.16, §5.40), written independently of src/scsi. */

export function read10(lba: number, blocks: number): Buffer {
  return rw10(0x28, lba, blocks);
}

export function write10(lba: number, blocks: number): Buffer {
  return rw10(0x2a, lba, blocks);
}

function rw10(opcode: number, lba: number, blocks: number): Buffer {
  const cdb = Buffer.alloc(10);
  cdb[0] = opcode;
  cdb.writeUInt32BE(lba, 2);
  cdb.writeUInt16BE(blocks, 7);
  return cdb;
}
