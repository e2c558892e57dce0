/** GetClass, EnumerateClassNames, EnumerateClasses (DSP0200 §5.3.2.1, .2.9, .2.8). */
import { classElement, escapeXml } from '../cimxml/serialize.ts';
import type { IntrinsicContext } from './context.ts';

export function getClass(ctx: IntrinsicContext): string {
  const name = ctx.className('ClassName', true) as string;
  return classElement(ctx.schema.get(name), ctx.write);
}

function classNames(ctx: IntrinsicContext): string[] {
  const parent = ctx.className('ClassName', false);
  if (parent) ctx.schema.get(parent);
  return ctx.schema.subclassNames(parent, ctx.bool('DeepInheritance', false));
}

export function enumerateClassNames(ctx: IntrinsicContext): string {
  return classNames(ctx).map((n) => `<CLASSNAME NAME="${escapeXml(n)}"/>`).join('');
}

export function enumerateClasses(ctx: IntrinsicContext): string {
  return classNames(ctx).map((n) => classElement(ctx.schema.get(n), ctx.write)).join('');
}
