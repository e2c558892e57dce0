// The layer rule (docs/architecture.md "Layers"): a module under src/ may import its own layer and
// the layers below it, never one above. scripts/test.sh runs this as the `layers` check, so a new
// back-edge fails CI. Tests and benchmarks sit outside src/ and may import anything.
//
// Order, lowest first. Layers on one rank are siblings and must not import each other.
const RANKS = [
  ['util'],
  ['config'],
  ['storage'],
  ['scsi'],
  ['iscsi'],
  ['initiator'],
  ['system'],
  ['replication', 'cim', 'metrics'],
  ['app'], // the composition root: the only place that wires storage → scsi → iscsi, cim, replication
  ['lab'],
  ['cli'],
];

// The initiator shares the target's PDU codec and nothing else of the fabric.
const ISCSI_CODEC = ['parser', 'pdu', 'serializer', 'text-keys', 'constants'];

// Known back-edges still in the tree, each to be removed by the change that fixes it: the file
// `from` may import the layer `to` (and nothing else above it). Say why each entry is here.
const TEMPORARY_EXCEPTIONS = [];

const pattern = (layers) => `^src/(${layers.join('|')})/`;

const layerRules = RANKS.flatMap((rank, index) => {
  const above = RANKS.slice(index + 1).flat();
  return rank.flatMap((layer) => {
    const forbidden = [...above, ...rank.filter((sibling) => sibling !== layer)];
    const excepted = TEMPORARY_EXCEPTIONS.filter((e) => e.from.startsWith(`^src/${layer}/`));
    const rule = {
      name: `layer-${layer}`,
      comment: `src/${layer} may not import ${forbidden.join(', ')} (a layer above it or a sibling)`,
      severity: 'error',
      from: { path: `^src/${layer}/`, ...(excepted.length > 0 ? { pathNot: excepted.map((e) => e.from) } : {}) },
      to: { path: pattern(forbidden) },
    };
    const narrowed = excepted.map((e) => ({
      ...rule,
      name: `layer-${layer}-temporary-exception`,
      comment: `${rule.comment}; temporary exception for ${e.to}: ${e.why}`,
      from: { path: e.from },
      to: { path: pattern(forbidden.filter((l) => l !== e.to)) },
    }));
    return [rule, ...narrowed];
  });
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'initiator-uses-codec-only',
      comment: 'src/initiator may use the iSCSI PDU codec, not the target-side fabric',
      severity: 'error',
      from: { path: '^src/initiator/' },
      to: { path: '^src/iscsi/', pathNot: `^src/iscsi/(${ISCSI_CODEC.join('|')})\\.ts$` },
    },
    {
      name: 'no-unknown-layer',
      comment: 'every folder under src/ is a layer named in .dependency-cruiser.cjs',
      severity: 'error',
      from: { path: '^src/', pathNot: `^src/(${RANKS.flat().join('|')})/` },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(test|bench|scripts|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
