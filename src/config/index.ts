export type * from './types.ts';
export { ConfigError } from './errors.ts';
export { loadConfigFile, parseConfigText } from './load.ts';
export { validateConfig, type ValidateContext } from './validate.ts';
export { DEFAULTS } from './defaults.ts';
export { parseSize, formatSize } from './size.ts';
export { iscsiNameProblem, normalizeIscsiName, sanitizeNameComponent } from './names.ts';
export { parseHostPort, formatHostPort, type HostPort } from './portal-address.ts';
