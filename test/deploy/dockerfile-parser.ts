/** A Dockerfile read into stages and instructions: enough to check bases, copies, users and commands. */

export interface Instruction {
  keyword: string;
  args: string;
}
export interface Stage {
  image: string;
  alias?: string;
  instructions: Instruction[];
}

export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line) && current === '') continue;
    if (/^\s*#/.test(line)) continue; // comment inside a continuation
    if (/\\\s*$/.test(line)) {
      current += `${line.replace(/\\\s*$/, '')} `;
      continue;
    }
    current += line;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  if (current.trim()) logical.push(current.trim());

  const stages: Stage[] = [];
  for (const line of logical) {
    const match = /^([A-Za-z]+)\s+([\s\S]*)$/.exec(line);
    if (!match) throw new Error(`unparseable Dockerfile line: ${line}`);
    const keyword = (match[1] ?? '').toUpperCase();
    const args = (match[2] ?? '').trim();
    if (keyword === 'FROM') {
      const words = args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const [image = '', as, alias] = words;
      stages.push({ image, ...(as?.toUpperCase() === 'AS' && alias ? { alias } : {}), instructions: [] });
    } else if (keyword === 'ARG' && stages.length === 0) {
      continue; // global ARGs before the first FROM
    } else {
      const stage = stages[stages.length - 1];
      if (!stage) throw new Error(`${keyword} before FROM`);
      stage.instructions.push({ keyword, args });
    }
  }
  return stages;
}

export function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`not exec form: ${args}`);
  return parsed as string[];
}
