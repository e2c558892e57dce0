/** Reading one sample out of a Prometheus text exposition (the body of /metrics). */

/** The value of one sample line, `name{labels} value`, whose labels include `labels`; undefined when absent. */
export function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    const inside = line.slice(name.length + 1, close).split(',');
    if (wanted.every((pair) => inside.includes(pair))) return Number(line.slice(close + 1).trim());
  }
  return undefined;
}
