/**
 * Compose variable interpolation, as `docker compose` does it, against a fixed set of variables rather than
 * the caller's environment, so the result is deterministic.
 */

export const VARIABLE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * Compose variable interpolation against `vars` alone (never the caller's environment, so the result is
 * deterministic). `${NAME:?msg}` / `${NAME?msg}` throw like compose when NAME is unset (or, with `:`, empty);
 * `${VAR}` / `$VAR` without a default throws too, where compose would only warn and substitute "".
 */
export function interpolate(value: string, where: string, vars: Record<string, string>): string {
  return value.replace(
    VARIABLE,
    (match, braced: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
      if (match === '$$') return '$';
      const name = braced ?? bare ?? '';
      const set = Object.hasOwn(vars, name) ? vars[name] : undefined;
      switch (op) {
        case ':-':
          return set ? set : (arg ?? '');
        case '-':
          return set ?? arg ?? '';
        case ':?':
        case '?':
          if (set === undefined || (op === ':?' && set === '')) {
            throw new Error(`${where}: required variable ${name} is missing a value: ${arg ?? ''}`);
          }
          return set;
        case undefined:
          if (set !== undefined) return set;
          throw new Error(`${where}: variable ${name} has no default (${match})`);
        default:
          throw new Error(`${where}: unsupported interpolation ${match}`);
      }
    },
  );
}

export function deepInterpolate(node: unknown, where: string, vars: Record<string, string>): void {
  if (typeof node === 'string') interpolate(node, where, vars);
  else if (Array.isArray(node)) node.forEach((item, i) => deepInterpolate(item, `${where}[${i}]`, vars));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) deepInterpolate(value, `${where}.${key}`, vars);
  }
}

export interface VariableRef {
  where: string;
  name: string;
  /** '', ':-', '-', ':?', '?', …; '' for `${NAME}` and `$NAME`. */
  op: string;
  arg: string;
  text: string;
}
/** Every variable reference in every string of the file (keys included), with where it is. */
export function variableRefs(node: unknown, where = 'compose'): VariableRef[] {
  if (typeof node === 'string') {
    return [...node.matchAll(VARIABLE)]
      .filter((m) => m[0] !== '$$')
      .map((m) => ({ where, name: m[1] ?? m[4] ?? '', op: m[2] ?? '', arg: m[3] ?? '', text: m[0] }));
  }
  if (Array.isArray(node)) return node.flatMap((item, i) => variableRefs(item, `${where}[${i}]`));
  if (node && typeof node === 'object') {
    return Object.entries(node).flatMap(([key, value]) => [...variableRefs(key, `${where}(key)`), ...variableRefs(value, `${where}.${key}`)]);
  }
  return [];
}

export function without(vars: Record<string, string>, name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(vars).filter(([key]) => key !== name));
}
